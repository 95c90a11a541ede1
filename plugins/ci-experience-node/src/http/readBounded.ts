import { Config } from '@backstage/config';

/**
 * Default size of a provider's answer read at most: 16 MiB.
 *
 * @public
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * The config key of {@link DEFAULT_MAX_RESPONSE_BYTES}, named in refusals.
 *
 * @public
 */
export const MAX_RESPONSE_BYTES_KEY = 'ciExperience.providers.maxResponseBytes';

/**
 * A body longer than the reader's bound; nothing past the bound was kept.
 *
 * @public
 */
export class BodyTooLargeError extends Error {
  /** The bound, in bytes. */
  readonly maxBytes: number;
  /**
   * Bytes read before the reading stopped: past `maxBytes`, or 0 when the
   * `Content-Length` alone refused the body.
   */
  readonly read: number;

  constructor(maxBytes: number, read = 0) {
    super(`The body is longer than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
    this.maxBytes = maxBytes;
    this.read = read;
  }
}

/**
 * Reads a body's bytes, `maxBytes` at most. A `Content-Length` above the
 * bound is refused before a byte is read; a body without one, or a
 * compressed one (whose length says nothing of what it inflates to), is
 * counted as it streams in and cancelled once past the bound. Past it:
 * {@link BodyTooLargeError}, with the bytes read. Errors of the stream
 * itself (a time-out, a reset) are passed on.
 *
 * @public
 */
export async function readBoundedBytes(
  response: Response,
  maxBytes: number,
): Promise<Uint8Array> {
  const body = response.body;
  if (!body) {
    return new Uint8Array(0);
  }
  const encoding = response.headers.get('content-encoding');
  const length = Number(response.headers.get('content-length') ?? NaN);
  if (
    (!encoding || encoding.toLowerCase() === 'identity') &&
    Number.isFinite(length) &&
    length > maxBytes
  ) {
    body.cancel().catch(() => {});
    throw new BodyTooLargeError(maxBytes);
  }
  const chunks: Uint8Array[] = [];
  let read = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      read += value.byteLength;
      if (read > maxBytes) {
        chunks.length = 0;
        // Not awaited: a source may never confirm the cancel.
        reader.cancel().catch(() => {});
        throw new BodyTooLargeError(maxBytes, read);
      }
      chunks.push(value);
    }
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // already released by the cancel
    }
  }
  // One copy into an array of its own (not a view of a shared pool).
  const data = new Uint8Array(read);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.byteLength;
  }
  return data;
}

/**
 * Reads a body as UTF-8 text (a byte order mark dropped, as `response.text()`
 * does), `maxBytes` at most, as {@link readBoundedBytes} reads it: past the
 * bound, {@link BodyTooLargeError}.
 *
 * @public
 */
export async function readBoundedText(
  response: Response,
  maxBytes: number,
): Promise<string> {
  return new TextDecoder().decode(await readBoundedBytes(response, maxBytes));
}

/**
 * Reads `ciExperience.providers.maxResponseBytes` from the root config:
 * undefined when not set (the client's default applies); a value that is
 * not a whole number above 0 stops the start with a message naming the key.
 *
 * @public
 */
export function readMaxResponseBytes(config: Config): number | undefined {
  const value = config.getOptionalNumber(MAX_RESPONSE_BYTES_KEY);
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
    throw new Error(
      `${MAX_RESPONSE_BYTES_KEY} must be a whole number of bytes above 0, e.g. ${DEFAULT_MAX_RESPONSE_BYTES} (16 MiB); got ${value}`,
    );
  }
  return value;
}
