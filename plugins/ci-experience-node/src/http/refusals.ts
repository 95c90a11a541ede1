import {
  AuthenticationError,
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import type { ProviderHttpClientOptions } from './ProviderHttpClient';

/** What a refusal is about, for its message. */
export interface RefusalContext {
  /** What was asked for, e.g. `runs of octo-org/octo-repo`. */
  where: string;
  /** How messages name the credential. */
  credential: string;
  /** A rerun or cancel (409, 400 and 422 are the caller's). */
  action?: boolean;
  /** After a 403, instead of the client's own hint. */
  forbiddenHint?: string;
}

function suffix(hint: string | undefined): string {
  return hint ? `; ${hint}` : '';
}

/**
 * A provider's refusal as an `@backstage/errors` error, in its own words
 * (already redacted): a spent rate limit or an outage
 * `ServiceUnavailableError`, 401 `AuthenticationError`, 403
 * `NotAllowedError`, 404 and 410 `NotFoundError`, and for actions 409
 * `ConflictError` and 400/422 `InputError`.
 */
export function refusalError(
  label: string,
  hints: ProviderHttpClientOptions['hints'],
  about: RefusalContext & { status: number; headers: Headers; message: string },
): Error {
  const allHints = {
    ...hints,
    ...(about.forbiddenHint
      ? {
          forbidden: about.forbiddenHint,
          forbiddenAction: about.forbiddenHint,
        }
      : {}),
  };
  const { where, credential, action, status, headers, message } = about;
  const detail = message.startsWith(String(status))
    ? message
    : `${status} ${message}`;
  const retryAfter = Number(headers.get('retry-after'));
  const reset = Number(headers.get('x-ratelimit-reset'));
  const limited =
    status === 429 ||
    (status === 403 &&
      (headers.get('x-ratelimit-remaining') === '0' ||
        /rate limit/i.test(message) ||
        headers.has('retry-after')));
  if (limited) {
    let when = '';
    if (Number.isFinite(retryAfter) && retryAfter > 0) {
      when = ` for ${retryAfter}s`;
    } else if (Number.isFinite(reset) && reset > 0) {
      when = ` until ${new Date(reset * 1000).toISOString()}`;
    }
    return new ServiceUnavailableError(
      `${label} rate limit exhausted for ${where}${when}: ${message}`,
    );
  }
  if (status === 401) {
    return new AuthenticationError(
      `${label} rejected the ${credential} for ${where}: ${detail}${suffix(
        allHints.unauthorized,
      )}`,
    );
  }
  if (status === 403) {
    return new NotAllowedError(
      action
        ? `${label} refused the ${where}: ${detail} (with the configured ${credential})${suffix(
            allHints.forbiddenAction ?? allHints.forbidden,
          )}`
        : `${label} refused access to ${where}: ${detail} (with the configured ${credential})${suffix(
            allHints.forbidden,
          )}`,
    );
  }
  if (action && status === 409) {
    return new ConflictError(`${label} refused the ${where}: ${detail}`);
  }
  if (action && (status === 400 || status === 422)) {
    return new InputError(`${label} refused the ${where}: ${detail}`);
  }
  if (status === 404) {
    return new NotFoundError(
      `${label} has no ${where} — it does not exist (renamed or deleted?), or the configured ${credential} cannot see it: ${detail}`,
    );
  }
  if (status === 410) {
    // Gone: expired or deleted (GitHub answers so for an expired artifact).
    return new NotFoundError(`${label} no longer has ${where}: ${detail}`);
  }
  if (status >= 300 && status < 400) {
    return new ServiceUnavailableError(
      `${label} answered with a redirect (${status}) for ${where}${suffix(
        allHints.redirect,
      )}`,
    );
  }
  const later =
    Number.isFinite(retryAfter) && retryAfter > 0
      ? ` (retry after ${retryAfter}s)`
      : '';
  return new ServiceUnavailableError(
    `${label} answered ${status} for ${where}${later}: ${message}`,
  );
}
