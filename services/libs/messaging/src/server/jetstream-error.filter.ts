import { Catch, RpcExceptionFilter } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';

/**
 * Hands a handler's own error to the JetStream transport, so redelivery logs and dead-letter reasons
 * say what went wrong instead of Nest's generic "Internal server error":
 * `app.useGlobalFilters(new JetStreamErrorFilter())` on the microservice.
 */
@Catch()
export class JetStreamErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
