import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  createCipheriv,
  createDecipheriv,
  hkdfSync,
  randomBytes,
} from 'node:crypto';

/** The config key holding the keys, named in every message about them. */
export const ENCRYPTION_KEYS_CONFIG = 'ciExperience.alerts.encryptionKeys';

const PREFIX = 'enc:v1:';
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MIN_SECRET_LENGTH = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** HKDF inputs: fixed, so that one secret always derives the same key. */
const HKDF_SALT = 'ci-experience.alerts.encryptionKeys';
const HKDF_INFO = 'slack-webhook-url aes-256-gcm v1';

/** A key id of a stored value that no configured key has. */
export class MissingKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `the Slack webhook URL is encrypted under key "${keyId}", which is not in ${ENCRYPTION_KEYS_CONFIG}: add that key back (after the current one) or give the rule a new Slack URL`,
    );
    this.name = 'MissingKeyError';
  }
}

const b64url = (b: Buffer) => b.toString('base64url');

/**
 * Encrypts secrets stored by the alerts (Slack webhook URLs) with AES-256-GCM
 * under keys from `ciExperience.alerts.encryptionKeys`: the first key
 * encrypts, every listed key decrypts. A stored value names its key:
 * `enc:v1:<keyId>:<iv>:<ciphertext and tag>` (base64url), bound to the row
 * it belongs to (the rule id as associated data), so that a value copied to
 * another rule does not decrypt. A value without the prefix is plain text
 * left from before encryption.
 */
export class AlertSecrets {
  private constructor(private readonly keys: Map<string, Buffer>) {}

  /**
   * Reads the keys from config. An unusable entry is logged (never its
   * secret) and skipped; the backend starts anyway.
   */
  static fromConfig(config: Config, logger: LoggerService): AlertSecrets {
    let entries: unknown;
    try {
      entries = config.getOptional(ENCRYPTION_KEYS_CONFIG);
    } catch {
      entries = undefined;
    }
    return AlertSecrets.create(entries, logger);
  }

  /** Builds from entries as config gives them (unvalidated). */
  static create(entries: unknown, logger?: LoggerService): AlertSecrets {
    const keys = new Map<string, Buffer>();
    if (entries === undefined || entries === null) {
      return new AlertSecrets(keys);
    }
    if (!Array.isArray(entries)) {
      logger?.error(
        `${ENCRYPTION_KEYS_CONFIG} must be a list of { id, secret }; it is ignored, so Slack webhook URLs cannot be stored`,
      );
      return new AlertSecrets(keys);
    }
    entries.forEach((entry, index) => {
      const where = `${ENCRYPTION_KEYS_CONFIG}[${index}]`;
      const problem = checkEntry(entry);
      if (problem) {
        logger?.error(`${where} skipped: ${problem}`);
        return;
      }
      const { id, secret } = entry as { id: string; secret: string };
      if (keys.has(id)) {
        logger?.error(`${where} skipped: an earlier key has the id "${id}"`);
        return;
      }
      keys.set(id, deriveKey(secret));
    });
    return new AlertSecrets(keys);
  }

  /** The id of the key that encrypts, if any key is configured. */
  get currentKeyId(): string | undefined {
    return this.keys.keys().next().value;
  }

  /** The configured key ids, the encrypting one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** The key id a stored value names; undefined for plain text. */
  static keyIdOf(stored: string): string | undefined {
    if (!stored.startsWith(PREFIX)) return undefined;
    return stored.slice(PREFIX.length).split(':', 1)[0];
  }

  hasKey(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** Encrypts under the current key; throws when there is none. */
  seal(plain: string, context: string): string {
    const keyId = this.currentKeyId;
    if (!keyId) {
      throw new Error(`no key in ${ENCRYPTION_KEYS_CONFIG}`);
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyId)!, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([
      cipher.update(plain, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${PREFIX}${keyId}:${b64url(iv)}:${b64url(body)}`;
  }

  /**
   * The plain value of a stored one (plain text is answered as is). Throws
   * {@link MissingKeyError} for a key no longer configured, and an error
   * without the value for one that does not decrypt.
   */
  open(stored: string, context: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    const [keyId, iv, body, ...rest] = stored.slice(PREFIX.length).split(':');
    const key = this.keys.get(keyId);
    if (!key) throw new MissingKeyError(keyId);
    const unreadable = new Error(
      `the Slack webhook URL stored under key "${keyId}" could not be decrypted (altered, or the key's secret changed)`,
    );
    const ivBytes = Buffer.from(iv ?? '', 'base64url');
    const bytes = Buffer.from(body ?? '', 'base64url');
    if (
      rest.length ||
      ivBytes.length !== IV_BYTES ||
      bytes.length < TAG_BYTES
    ) {
      throw unreadable;
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, ivBytes);
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw unreadable;
    }
  }
}

function checkEntry(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return 'each key must be an object with id and secret';
  }
  const { id, secret } = entry as Record<string, unknown>;
  if (typeof id !== 'string' || !KEY_ID.test(id)) {
    return 'id must be 1 to 64 letters, digits, ".", "_" or "-"';
  }
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    return `secret of "${id}" must be a string of at least ${MIN_SECRET_LENGTH} characters (for example: openssl rand -base64 32)`;
  }
  return undefined;
}

/** Any long random string works: HKDF-SHA256 turns it into a 256-bit key. */
function deriveKey(secret: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, HKDF_INFO, 32),
  );
}
