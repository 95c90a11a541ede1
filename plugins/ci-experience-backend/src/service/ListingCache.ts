/** Default bound of all answers kept together: 16 MiB of JSON. */
export const DEFAULT_LISTING_CACHE_MAX_BYTES = 16 * 1024 * 1024;

interface Entry<T> {
  at: number;
  versions: number[];
  sourceKeys: string[];
  value: T;
  /** The answer's JSON length, measured once when it was kept. */
  bytes: number;
}

/**
 * Answers of the run listing, kept for a moment: a page that many viewers
 * poll is read from the database once per change, not once per view. Writes
 * in this process (a sync, a webhook) drop the answers about their source at
 * once; writes by another replica show within the time to live.
 *
 * Bounded by the size of the answers, not their count: a count would let
 * 2,000 pages of 100 runs hold hundreds of MB. Each answer's JSON length is
 * measured once, when it is kept; the oldest answers go first when the total
 * passes `maxBytes`, and an answer larger than a quarter of it is not kept at
 * all (it would push out many others for one key).
 */
export class ListingCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly versions = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly options: {
      ttlMs?: number;
      /** The answers' JSON kept at most, in all; default 16 MiB. */
      maxBytes?: number;
      now?: () => number;
    } = {},
  ) {}

  /** The JSON length of the answers kept now. */
  get bytes(): number {
    return this.total;
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      return undefined;
    }
    const fresh =
      this.now() - entry.at < (this.options.ttlMs ?? 2000) &&
      entry.sourceKeys.every((k, i) => this.version(k) === entry.versions[i]);
    if (!fresh) {
      this.remove(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, sourceKeys: string[], value: T) {
    this.remove(key);
    const max = this.options.maxBytes ?? DEFAULT_LISTING_CACHE_MAX_BYTES;
    const bytes = (JSON.stringify(value) ?? '').length + key.length;
    if (bytes > max / 4) {
      return;
    }
    this.entries.set(key, {
      at: this.now(),
      sourceKeys,
      versions: sourceKeys.map(k => this.version(k)),
      value,
      bytes,
    });
    this.total += bytes;
    // A Map iterates in insertion order, and a key set again is re-inserted:
    // the first entries are the oldest.
    for (const k of this.entries.keys()) {
      if (this.total <= max) {
        break;
      }
      this.remove(k);
    }
  }

  /** Something about this source changed: its runs or its sync state. */
  changed(sourceKey: string) {
    this.versions.set(sourceKey, this.version(sourceKey) + 1);
  }

  private remove(key: string) {
    const entry = this.entries.get(key);
    if (entry) {
      this.total -= entry.bytes;
      this.entries.delete(key);
    }
  }

  private version(sourceKey: string) {
    return this.versions.get(sourceKey) ?? 0;
  }

  private now() {
    return this.options.now?.() ?? Date.now();
  }
}
