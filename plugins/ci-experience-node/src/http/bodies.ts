/*
 * Reading provider bodies within bounds: a refusal's head, a log's tail
 * (cut at a line), content ranges and the redirects that are followed.
 */

/** The first bytes of a body, as text; the rest is not read. */
export async function readHead(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<string> {
  if (!body) {
    return '';
  }
  const chunks: Uint8Array[] = [];
  let read = 0;
  const reader = body.getReader();
  try {
    while (read < maxBytes) {
      const { done, value } = await reader.read();
      if (done) {
        break;
      }
      chunks.push(value);
      read += value.byteLength;
    }
    if (read >= maxBytes) {
      reader.cancel().catch(() => {});
    }
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // already released by the cancel
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/**
 * The tail of a body, read as it streams in.
 *
 * @public
 */
export interface TailRead {
  /** The last bytes read, at most `maxBytes`. */
  buffer: Buffer;
  /** Bytes read in all. */
  read: number;
  /** The body was read to its end. */
  complete: boolean;
}

/**
 * Reads a body keeping only its last `maxBytes` (chunks before them are let
 * go as the stream goes on) and stops after `maxReadBytes`.
 *
 * @public
 */
export async function readTail(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  maxReadBytes: number,
): Promise<TailRead> {
  if (!body) {
    return { buffer: Buffer.alloc(0), read: 0, complete: true };
  }
  const chunks: Uint8Array[] = [];
  let kept = 0;
  let read = 0;
  let complete = false;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        break;
      }
      read += value.byteLength;
      chunks.push(value);
      kept += value.byteLength;
      while (chunks.length > 1 && kept - chunks[0].byteLength >= maxBytes) {
        kept -= chunks.shift()!.byteLength;
      }
      if (read >= maxReadBytes) {
        // Not awaited: a source may never confirm the cancel.
        reader.cancel().catch(() => {});
        break;
      }
    }
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // already released by the cancel
    }
  }
  const all = Buffer.concat(chunks);
  return {
    buffer: all.length > maxBytes ? all.subarray(all.length - maxBytes) : all,
    read,
    complete,
  };
}

/** UTF-8 text of a tail; a cut one starts after its first newline, so no line or character arrives half. */
export function decodeTail(buffer: Buffer, cut: boolean): string {
  if (!cut) {
    return buffer.toString('utf8');
  }
  const newline = buffer.indexOf(0x0a);
  return buffer
    .subarray(newline >= 0 && newline < buffer.length - 1 ? newline + 1 : 0)
    .toString('utf8');
}

/** `bytes 100-199/1000` → its start and total. */
export function parseContentRange(
  value: string | null,
): { start: number; total?: number } | undefined {
  const match = value?.match(/^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i);
  if (!match) {
    return undefined;
  }
  return {
    start: Number(match[1]),
    total: match[3] === '*' ? undefined : Number(match[3]),
  };
}

/**
 * The next URL of a redirect, or undefined for one that is not followed:
 * not http(s), or from https down to http.
 */
export function safeRedirect(
  from: string,
  location: string,
): string | undefined {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    return undefined;
  }
  if (next.protocol !== 'https:' && next.protocol !== 'http:') {
    return undefined;
  }
  if (new URL(from).protocol === 'https:' && next.protocol === 'http:') {
    return undefined;
  }
  return next.toString();
}

export function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${Math.round(bytes / 1024 / 102.4) / 10} MiB`
    : `${bytes} bytes`;
}
