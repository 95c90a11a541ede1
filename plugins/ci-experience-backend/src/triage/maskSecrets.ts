/**
 * Masks credentials in a log line before it is stored as a failure's
 * excerpt (shown in the runs table and the run page). A token keeps its
 * documented prefix (`ghp_***`, `AKIA***`) so that people can tell what
 * leaked and rotate it; other values become `***`.
 *
 * Every quantifier is bounded and none is nested, so a pattern costs at most
 * a constant per character of the (already capped) line.
 */

const MASK = '***';

/** Token shapes that a provider documents, with the prefix kept. */
const TOKEN_SHAPES: RegExp[] = [
  // GitHub: ghp_ (personal), gho_ (OAuth), ghu_ (user-to-server), ghs_
  // (server-to-server, Actions' GITHUB_TOKEN), ghr_ (refresh); [A-Za-z0-9_],
  // up to 255 characters. Fine-grained personal tokens: github_pat_.
  /\b(gh[pousr]_)[A-Za-z0-9_]{20,251}/g,
  /\b(github_pat_)[A-Za-z0-9_]{20,244}/g,
  // GitLab's token prefixes (security/tokens, "Token prefixes"), including
  // the routable form with `.`-separated parts; GR1348941: runner
  // registration tokens.
  /\b(gl(?:pat|oas|dt|rtr|rt|cbt|ptt|ft|imt|agent|soat|ffct|wt)-)[A-Za-z0-9_.-]{10,255}/g,
  /\b(GR1348941)[A-Za-z0-9_-]{20,255}/g,
  // Slack: bot, user, workspace app, refresh and legacy tokens; app tokens.
  /\b(xox[abprs]-)[A-Za-z0-9-]{10,255}/g,
  /\b(xapp-)[A-Za-z0-9-]{10,255}/g,
  // AWS access key ids: long-term (AKIA) and temporary (ASIA).
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g,
  // JWTs: a JSON header and payload, base64url (both start with `{"`).
  /\b(eyJ)[A-Za-z0-9_-]{4,1024}\.eyJ[A-Za-z0-9_-]{4,1024}(?:\.[A-Za-z0-9_-]{0,1024})?/g,
  // npm automation and publish tokens.
  /\b(npm_)[A-Za-z0-9]{36}\b/g,
];

/** A value that is (now) only a short prefix and a mask, kept as is. */
const MASKED_ALREADY = /^[A-Za-z0-9_.-]{0,20}\*\*\*/;

/** One value: quoted or bare. Bounded, and no quote left open. */
const VALUE = `"[^"]{0,512}"?|'[^']{0,512}'?|[^\\s"',;&]{1,512}`;

/** `password=…`, `DB_PASSWORD: …`, `"token": "…"`, `client_secret=…`. */
const KEYED = new RegExp(
  `(?<![A-Za-z0-9])(aws_secret_access_key|password|passwd|pwd|secret|token|api[_-]?key)([A-Za-z0-9_-]{0,30}["']?\\s{0,5}[:=]\\s{0,5})(${VALUE})`,
  'gi',
);
/** `--password hunter2`, `--token abc` (a flag and its argument). */
const FLAG = new RegExp(
  `(--(?:password|passwd|secret|token)[A-Za-z0-9_-]{0,30}\\s{1,5})(${VALUE})`,
  'gi',
);
/** `Authorization: Bearer …`, `Basic …`, `token …`, or a bare value. */
const AUTHORIZATION = new RegExp(
  `(\\bauthorization["']?\\s{0,5}[:=]\\s{0,5}["']?(?:(?:bearer|basic|token|digest|negotiate)\\s{1,5})?)([^\\s"',;]{1,2048})`,
  'gi',
);
/** A bearer token outside a header (`curl -H "…Bearer <token>"`, errors). */
const BEARER = /\b(bearer\s{1,5})([A-Za-z0-9._~+/=-]{16,2048})/gi;
/** Credentials in a URL: `https://user:password@host`. */
const URL_PASSWORD =
  /(\b[a-z][a-z0-9+.-]{0,20}:\/\/[^\s/:@]{1,256}:)([^\s/@]{1,256})(?=@)/gi;

/** Every pattern, for the test that holds them to bounded quantifiers. */
export const SECRET_PATTERNS: readonly RegExp[] = [
  ...TOKEN_SHAPES,
  KEYED,
  FLAG,
  AUTHORIZATION,
  BEARER,
  URL_PASSWORD,
];

function maskShapes(text: string): string {
  let out = text;
  for (const shape of TOKEN_SHAPES) {
    out = out.replace(shape, `$1${MASK}`);
  }
  return out;
}

/** A secret value: a known token keeps its prefix, anything else is `***`. */
function maskValue(value: string): string {
  const quote = value[0] === '"' || value[0] === "'" ? value[0] : '';
  let inner = quote ? value.slice(1) : value;
  const closed = quote !== '' && inner.endsWith(quote);
  if (closed) inner = inner.slice(0, -1);
  const shaped = maskShapes(inner);
  const masked = MASKED_ALREADY.test(shaped) ? shaped : MASK;
  return `${quote}${masked}${closed ? quote : ''}`;
}

/** The line with every credential it recognises masked. */
export function maskSecrets(line: string): string {
  return maskShapes(
    line
      .replace(URL_PASSWORD, (_m, head, secret) => head + maskValue(secret))
      .replace(AUTHORIZATION, (_m, head, secret) => head + maskValue(secret))
      .replace(BEARER, (_m, head, secret) => head + maskValue(secret))
      .replace(FLAG, (_m, head, secret) => head + maskValue(secret))
      .replace(
        KEYED,
        (_m, key, separator, secret) => key + separator + maskValue(secret),
      ),
  );
}
