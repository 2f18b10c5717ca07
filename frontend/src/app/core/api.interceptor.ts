import { HttpContextToken, HttpInterceptorFn } from '@angular/common/http';
import { inject } from '@angular/core';
import { Router } from '@angular/router';
import { catchError, throwError } from 'rxjs';
import { ApiError } from './api-error';
import { Session } from './session';

/** Set on a request whose 401 the caller handles itself (checking a token at sign-in). */
export const HANDLES_UNAUTHORIZED = new HttpContextToken<boolean>(() => false);

/**
 * Adds the bearer token to API requests and turns every failure into an ApiError; a 401 (the token
 * expired or was revoked) ends the session and sends the user to sign in again.
 */
export const apiInterceptor: HttpInterceptorFn = (req, next) => {
  const session = inject(Session);
  const router = inject(Router);
  const token = session.token();
  const authorised =
    token && req.url.startsWith('/api/') && !req.headers.has('Authorization')
      ? req.clone({ setHeaders: { Authorization: `Bearer ${token}` } })
      : req;
  return next(authorised).pipe(
    catchError((error: unknown) => {
      const apiError = ApiError.from(error);
      if (apiError.status === 401 && !req.context.get(HANDLES_UNAUTHORIZED)) {
        session.signOut();
        const returnUrl = router.url.startsWith('/sign-in') ? undefined : router.url;
        void router.navigate(['/sign-in'], { queryParams: { expired: 1, ...(returnUrl ? { returnUrl } : {}) } });
      }
      return throwError(() => apiError);
    }),
  );
};
