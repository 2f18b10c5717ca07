import { HttpClient, HttpContext, HttpHeaders, HttpParams } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type { EngineName } from '@urumi/contracts';
import { firstValueFrom } from 'rxjs';
import { HANDLES_UNAUTHORIZED } from './api.interceptor';
import { AuditPage, Role, StoreList, StoreView } from './api.types';
import { ApiError } from './api-error';

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

  /**
   * Checks a token and finds its role: any valid token may list stores, only admins may read the audit
   * trail. Rejects with the 401 ApiError for a bad token.
   */
  async roleOf(token: string): Promise<Role> {
    const options = {
      headers: new HttpHeaders({ Authorization: `Bearer ${token}` }),
      context: new HttpContext().set(HANDLES_UNAUTHORIZED, true),
    };
    await firstValueFrom(this.http.get(`${API}/stores`, { ...options, params: { limit: 1 } }));
    try {
      await firstValueFrom(this.http.get(`${API}/audit`, { ...options, params: { limit: 1 } }));
      return 'admin';
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) return 'tenant';
      throw error;
    }
  }
}
