import { ResponseError } from '@backstage/errors';

/**
 * The message to show for a failed request: the backend's own message
 * (e.g. "You may not cancel runs of component:default/payments") rather
 * than "Request failed with 403 Forbidden".
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ResponseError) {
    return error.body?.error?.message || error.message;
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
