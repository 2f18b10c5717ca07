/** The HTTP status of a failed Kubernetes API call (client-node's ApiException carries it as `code`). */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (error: unknown): boolean => statusOf(error) === 404;
export const isConflict = (error: unknown): boolean => statusOf(error) === 409;

/** A one-line description of a failed call, with the API server's own message when it sent one. */
export function describeKubeError(error: unknown): string {
  const status = statusOf(error);
  const body = (error as { body?: unknown } | null)?.body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      message = body;
    }
  } else if (body && typeof body === 'object') {
    message = (body as { message?: string }).message;
  }
  const text = message ?? (error instanceof Error ? error.message : String(error));
  return status ? `${status}: ${text}` : text;
}
