import { HttpErrorResponse } from '@angular/common/http';

/** An API failure in the words the gateway chose (`{statusCode, error, message}`), plus when to retry. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    message: string,
    /** Seconds to wait before retrying, from `Retry-After` (rate limits). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  static from(error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    if (!(error instanceof HttpErrorResponse)) {
      return new ApiError(0, error instanceof Error ? error.message : 'something went wrong');
    }
    if (error.status === 0) return new ApiError(0, 'the platform cannot be reached; check your connection');
    const body: unknown = error.error;
    const message =
      typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : `${error.status} ${error.statusText || 'error'}`;
    return new ApiError(error.status, message, retryAfterOf(error.headers.get('Retry-After')));
  }
}

function retryAfterOf(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
