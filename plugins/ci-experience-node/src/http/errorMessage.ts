import { readHead } from './bodies';

/*
 * What a refusal says, in the provider's own words, trimmed.
 */

/**
 * The message of a refusal: the body's `message` or `error` (JSON), the
 * heading of an HTML error page (Jenkins) or a short plain text, else the
 * status text. Only the first 16 KiB of the body are read.
 */
export async function errorMessage(response: Response): Promise<string> {
  let text = '';
  try {
    text = (await readHead(response.body, 16 * 1024)).trim();
  } catch {
    // unreadable: the status text will do
  }
  try {
    const body = JSON.parse(text);
    const message = body?.message ?? body?.error;
    if (typeof message === 'string') {
      return message.slice(0, 300);
    }
    if (message && typeof message === 'object') {
      return JSON.stringify(message).slice(0, 300);
    }
  } catch {
    // not JSON
  }
  const fallback = response.statusText || `HTTP ${response.status}`;
  if (/^<(!doctype|html|head|body)/i.test(text)) {
    const heading = text.match(/<(h1|h2|p)[^>]*>([\s\S]*?)<\/\1>/i)?.[2];
    const words = plainText(heading ?? '').replace(/^HTTP ERROR \d+\s*/i, '');
    return words ? words.slice(0, 300) : fallback;
  }
  if (text && !text.startsWith('{') && text.length <= 300) {
    return plainText(text);
  }
  return fallback;
}

/** Text without markup, entities or runs of white space. */
function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))
    .replace(
      /&(amp|lt|gt|quot);/g,
      (_, name) =>
        ({ amp: '&', lt: '<', gt: '>', quot: '"' }[name as string] ?? ''),
    )
    .replace(/\s+/g, ' ')
    .trim();
}
