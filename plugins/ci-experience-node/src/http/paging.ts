/*
 * Where the providers differ in paging, endpoints and rate-limit headers:
 * the defaults and GitLab's and Buildkite's standard headers.
 */

/**
 * The path below the base without its query, numbers as `{id}`.
 *
 * @public
 */
export function defaultEndpointOf(url: string, base: string): string {
  return url
    .slice(base.length)
    .split('?')[0]
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
}

/**
 * The `Link` header's `rel="next"`.
 *
 * @public
 */
export function linkNext(_url: string, headers: Headers): string | undefined {
  const link = headers.get('link');
  if (!link) {
    return undefined;
  }
  for (const part of link.split(',')) {
    const match = part.match(/<([^>]+)>\s*;\s*rel="next"/);
    if (match) {
      return match[1];
    }
  }
  return undefined;
}

/**
 * The IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`
 * and `Retry-After` (GitLab, Buildkite) under the names the shared limiter
 * reads. A small `RateLimit-Reset` is seconds until the reset (Buildkite) and
 * is made epoch seconds; an epoch time (GitLab) stays as it is.
 *
 * @public
 */
export function standardRateLimitHeaders(
  headers: Headers,
  now: number = Date.now(),
): Headers {
  const out = new Headers();
  const copy = (from: string, to: string) => {
    const value = headers.get(from);
    if (value !== null && value !== '') {
      out.set(to, value);
    }
  };
  copy('ratelimit-limit', 'x-ratelimit-limit');
  copy('ratelimit-remaining', 'x-ratelimit-remaining');
  copy('retry-after', 'retry-after');
  const reset = Number(headers.get('ratelimit-reset'));
  if (headers.get('ratelimit-reset') && Number.isFinite(reset) && reset >= 0) {
    const epoch = reset < 1e9 ? Math.ceil(now / 1000 + reset) : reset;
    out.set('x-ratelimit-reset', String(epoch));
  }
  return out;
}
