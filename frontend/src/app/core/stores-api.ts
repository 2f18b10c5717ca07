import { HttpClient, HttpContext, HttpHeaders, HttpParams } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type { EngineName } from '@urumi/contracts';
import { firstValueFrom } from 'rxjs';
import { HANDLES_UNAUTHORIZED } from './api.interceptor';
import { AuditPage, Me, PlatformView, StoreList, StoreView } from './api.types';

const API = '/api/v1';

/** The gateway's REST API; every call rejects with an ApiError (see apiInterceptor). */
@Injectable({ providedIn: 'root' })
export class StoresApi {
  private readonly http = inject(HttpClient);

  list(): Promise<StoreList> {
    return firstValueFrom(this.http.get<StoreList>(`${API}/stores`, { params: { limit: 500 } }));
  }

  get(id: string): Promise<StoreView> {
    return firstValueFrom(this.http.get<StoreView>(`${API}/stores/${encodeURIComponent(id)}`));
  }

  /** The same key on a retry makes the gateway replay its first answer instead of creating twice. */
  create(request: { name: string; engine: EngineName }, idempotencyKey: string): Promise<StoreView> {
    return firstValueFrom(
      this.http.post<StoreView>(`${API}/stores`, request, { headers: { 'Idempotency-Key': idempotencyKey } }),
    );
  }

  delete(id: string, idempotencyKey: string): Promise<StoreView> {
    return firstValueFrom(
      this.http.delete<StoreView>(`${API}/stores/${encodeURIComponent(id)}`, {
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
    );
  }

  audit(limit: number, before?: number): Promise<AuditPage> {
    let params = new HttpParams().set('limit', limit);
    if (before !== undefined) params = params.set('before', before);
    return firstValueFrom(this.http.get<AuditPage>(`${API}/audit`, { params }));
  }

  /** The platform page's figures (admins). */
  platform(): Promise<PlatformView> {
    return firstValueFrom(this.http.get<PlatformView>(`${API}/platform`));
  }

  /** Whom a token belongs to, before it is kept; rejects with the 401 ApiError for a bad token. */
  whoIs(token: string): Promise<Me> {
    return firstValueFrom(
      this.http.get<Me>(`${API}/me`, {
        headers: new HttpHeaders({ Authorization: `Bearer ${token}` }),
        context: new HttpContext().set(HANDLES_UNAUTHORIZED, true),
      }),
    );
  }
}
