/*
 * How a provider request is authenticated, and how its secrets are kept
 * out of every message.
 */

/**
 * How one request is authenticated.
 *
 * @public
 */
export interface ProviderCredential {
  /** Headers that carry the credential. */
  headers: Record<string, string>;
  /**
   * Values that must never appear in a message or a log line, besides the
   * header values themselves and what follows their auth scheme.
   */
  secrets?: string[];
  /** How messages name the credential; default `credentials`. */
  name?: string;
}

/**
 * The credential in `headers`, e.g. from `@backstage/integration`.
 *
 * @public
 */
export function headerCredential(
  headers: Record<string, string> | undefined,
  name?: string,
): ProviderCredential {
  return { headers: { ...headers }, name };
}

/**
 * `Authorization: Bearer <token>`.
 *
 * @public
 */
export function bearerCredential(
  token: string,
  name = 'API token',
): ProviderCredential {
  return {
    headers: { authorization: `Bearer ${token}` },
    secrets: [token],
    name,
  };
}

/**
 * HTTP Basic auth with a user's password or API token.
 *
 * @public
 */
export function basicCredential(
  username: string,
  password: string,
): ProviderCredential {
  return {
    headers: {
      authorization: `Basic ${Buffer.from(`${username}:${password}`).toString(
        'base64',
      )}`,
    },
    secrets: [password],
    name: `credentials of user ${username}`,
  };
}

/** Replaces every secret of the credential in a text by `***`. */
export function redactor(
  credential: ProviderCredential,
): (text: string) => string {
  const secrets = new Set<string>(credential.secrets ?? []);
  for (const value of Object.values(credential.headers)) {
    secrets.add(value);
    // `Bearer <token>`, `token <token>`, `Basic <base64>`: the part after the scheme.
    secrets.add(value.replace(/^\S+\s+/, ''));
  }
  const ordered = [...secrets]
    .filter(secret => secret.length > 0)
    .sort((a, b) => b.length - a.length);
  return text =>
    ordered.reduce((out, secret) => out.split(secret).join('***'), text);
}
