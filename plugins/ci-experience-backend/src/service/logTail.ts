/**
 * The tail of a log: at most `maxBytes` bytes (UTF-8) and `maxLines` lines,
 * cut at a line start so that no line or character arrives half. Says
 * whether anything was left out.
 */
export function logTail(
  text: string,
  limits: { maxBytes: number; maxLines: number },
): { text: string; truncated: boolean } {
  let truncated = false;
  let tail = text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) {
    const buffer = Buffer.from(text, 'utf8');
    const cut = buffer.subarray(buffer.length - limits.maxBytes);
    // Start after the first newline: the line it cut through is dropped,
    // and with it any half character at the cut.
    const newline = cut.indexOf(0x0a);
    tail = cut
      .subarray(newline >= 0 ? newline + 1 : cut.length)
      .toString('utf8');
    truncated = true;
  }
  const lines = tail.split('\n');
  // A final newline is no extra line.
  const trailing = lines.length > 0 && lines[lines.length - 1] === '' ? 1 : 0;
  if (lines.length - trailing > limits.maxLines) {
    tail = lines.slice(lines.length - trailing - limits.maxLines).join('\n');
    truncated = true;
  }
  return { text: tail, truncated };
}
