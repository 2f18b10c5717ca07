import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type { EngineView } from '@urumi/contracts';
import { firstValueFrom } from 'rxjs';

/** GET /api/v1/engines; rejects with an ApiError (see apiInterceptor). */
@Injectable({ providedIn: 'root' })
export class EnginesApi {
  private readonly http = inject(HttpClient);

  /** Each engine a store can be created with, and whether its stores run for real on this cluster. */
  list(): Promise<readonly EngineView[]> {
    return firstValueFrom(this.http.get<readonly EngineView[]>('/api/v1/engines'));
  }
}
