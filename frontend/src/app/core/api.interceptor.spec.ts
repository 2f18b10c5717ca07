import { HttpClient, HttpContext } from '@angular/common/http';
import { HttpTestingController } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { Router } from '@angular/router';
import { firstValueFrom } from 'rxjs';
import { provideConsoleTesting } from '../testing';
import { HANDLES_UNAUTHORIZED } from './api.interceptor';
import { ApiError } from './api-error';
import { Session } from './session';

describe('apiInterceptor', () => {
  let http: HttpClient;
  let backend: HttpTestingController;
  let session: Session;
  let router: Router;

  beforeEach(() => {
    TestBed.configureTestingModule({ providers: provideConsoleTesting() });
    http = TestBed.inject(HttpClient);
    backend = TestBed.inject(HttpTestingController);
    session = TestBed.inject(Session);
    router = TestBed.inject(Router);
    jest.spyOn(router, 'navigate').mockResolvedValue(true);
    session.signIn('alice-token', 'tenant');
  });

  afterEach(() => backend.verify());

  const failWith = (status: number, message: string, headers: Record<string, string> = {}) =>
    backend
      .expectOne(() => true)
      .flush({ statusCode: status, error: 'x', message }, { status, statusText: 'x', headers });

  it('sends the bearer token to the API', async () => {
    const answer = firstValueFrom(http.get('/api/v1/stores'));

    const req = backend.expectOne('/api/v1/stores');
    expect(req.request.headers.get('Authorization')).toBe('Bearer alice-token');
    req.flush({ items: [] });
    await expect(answer).resolves.toEqual({ items: [] });
  });

  it('sends no token anywhere but the API', async () => {
    const answer = firstValueFrom(http.get('https://elsewhere.example/data'));

    const req = backend.expectOne('https://elsewhere.example/data');
    expect(req.request.headers.has('Authorization')).toBe(false);
    req.flush({});
    await answer;
  });

  it('ends the session and sends the user to sign in when the API answers 401', async () => {
    const answer = firstValueFrom(http.get('/api/v1/stores'));

    failWith(401, 'invalid token');

    await expect(answer).rejects.toEqual(new ApiError(401, 'invalid token'));
    expect(session.signedIn()).toBe(false);
    expect(router.navigate).toHaveBeenCalledWith(['/sign-in'], { queryParams: { expired: 1, returnUrl: '/' } });
  });

  it('leaves a 401 to a caller that handles it (checking a token at sign-in)', async () => {
    const context = new HttpContext().set(HANDLES_UNAUTHORIZED, true);
    const answer = firstValueFrom(http.get('/api/v1/stores', { context }));

    failWith(401, 'invalid token');

    await expect(answer).rejects.toBeInstanceOf(ApiError);
    expect(session.signedIn()).toBe(true);
    expect(router.navigate).not.toHaveBeenCalled();
  });

  it('keeps the session on other errors and passes on the message and Retry-After', async () => {
    const answer = firstValueFrom(http.post('/api/v1/stores', {}));

    failWith(429, 'too many store creations; retry in 30 s', { 'Retry-After': '30' });

    const error = (await answer.catch((e: unknown) => e)) as ApiError;
    expect(error).toMatchObject({ status: 429, message: 'too many store creations; retry in 30 s' });
    expect(error.retryAfterSeconds).toBe(30);
    expect(session.signedIn()).toBe(true);
    expect(router.navigate).not.toHaveBeenCalled();
  });
});
