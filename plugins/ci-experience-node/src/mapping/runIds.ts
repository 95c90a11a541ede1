import { createHash } from 'node:crypto';

/**
 * The opaque id of one attempt of one run: URL-safe, the same on every sync,
 * and different for every source, run and attempt.
 *
 * @public
 */
export function runIdOf(
  sourceKey: string,
  providerRunId: string,
  attempt: number,
): string {
  return createHash('sha256')
    .update(`${sourceKey}\n${providerRunId}\n${attempt}`)
    .digest('base64url')
    .slice(0, 22);
}
