// client-node rejects with an ApiException whose `code` is the HTTP status; transport errors have none.

export function httpStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A read whose 404 means "absent", which callers handle as a state, not a failure. */
export async function orUndefinedIfNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}

/** The metav1.Status the API server sent with an error, when there is one. */
export interface ApiStatus {
  code: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; causes?: { field?: string; message?: string }[] };
}

export function apiStatusOf(error: unknown): ApiStatus | undefined {
  const code = httpStatusOf(error);
  if (code === undefined) return undefined;
  let body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return { code, message: text };
    }
  }
  return body !== null && typeof body === 'object' ? { code, ...(body as Omit<ApiStatus, 'code'>) } : { code };
}

/**
 * The API server refused the write as such (invalid object, bad request, an admission webhook's
 * or RBAC's denial): sending it again unchanged gets the same answer. A failed JSON-patch `test`
 * is not one: it comes back as a bare 422 ("the server rejected our request") with no details,
 * where a validation error names the object and its fields.
 */
export function isRefusedWrite(error: unknown): boolean {
  const status = apiStatusOf(error);
  if (status === undefined) return false;
  if (status.code === 400 || status.code === 403) return true;
  if (status.code !== 422) return false;
  return status.details?.name !== undefined || (status.details?.causes ?? []).some((cause) => cause.field !== undefined && cause.field !== '');
}
