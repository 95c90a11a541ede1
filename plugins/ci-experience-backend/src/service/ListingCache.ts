/** Default bound of all answers kept together: 16 MiB of JSON. */
export const DEFAULT_LISTING_CACHE_MAX_BYTES = 16 * 1024 * 1024;

interface Entry {
  at: number;
  versions: number[];
  sourceKeys: string[];
  /** The answer as sent: serialized once, when it was kept. */
  json: string;
  /** The answer's JSON length (and its key's). */
  bytes: number;
}

/**
 * Answers of the run listing, kept for a moment: a page that many viewers
 * poll is read from the database once per change, not once per view. Writes
 * in this process (a sync, a webhook) drop the answers about their source at
 * once; writes by another replica show within the time to live.
 *
 * Answers are kept as the JSON sent, so a hit costs no serializing; and
 * viewers who ask at the same moment for an answer not kept share one load
 * (when an answer expires under many viewers, they would otherwise all read
 * the database at once, and the slowest of them sets the tail latency).
 *
 * Bounded by the size of the answers, not their count: a count would let
 * 2,000 pages of 100 runs hold hundreds of MB. Each answer's JSON length is
 * measured once, when it is kept; the oldest answers go first when the total
 * passes `maxBytes`, and an answer larger than a quarter of it is not kept at
 * all (it would push out many others for one key).
 */
export class ListingCache<T> {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<string>>();
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

  /** The answer kept for a key, as JSON; undefined when none is fresh. */
  get(key: string): string | undefined {
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
    return entry.json;
  }

  /**
   * The answer for a key, as JSON: the one kept, or the one `load` makes.
   * Callers asking while a load for the key is under way share it (and its
   * failure). An answer is kept as of the sources' state when its load
   * began: a change during the load makes it stale at once.
   */
  async load(
    key: string,
    sourceKeys: string[],
    load: () => Promise<T>,
  ): Promise<string> {
    const kept = this.get(key);
    if (kept !== undefined) {
      return kept;
    }
    const under = this.loading.get(key);
    if (under) {
      return under;
    }
    const versions = sourceKeys.map(k => this.version(k));
    const loaded: Promise<string> = Promise.resolve()
      .then(load)
      .then(value => {
        const json = JSON.stringify(value) ?? 'null';
        this.keep(key, sourceKeys, versions, json);
        return json;
      })
      .finally(() => {
        if (this.loading.get(key) === loaded) {
          this.loading.delete(key);
        }
      });
    this.loading.set(key, loaded);
    return loaded;
  }

  set(key: string, sourceKeys: string[], value: T) {
    this.keep(
      key,
      sourceKeys,
      sourceKeys.map(k => this.version(k)),
      JSON.stringify(value) ?? 'null',
    );
  }

  private keep(
    key: string,
    sourceKeys: string[],
    versions: number[],
    json: string,
  ) {
    this.remove(key);
    const max = this.options.maxBytes ?? DEFAULT_LISTING_CACHE_MAX_BYTES;
    const bytes = json.length + key.length;
    if (bytes > max / 4) {
      return;
    }
    this.entries.set(key, {
      at: this.now(),
      sourceKeys,
      versions,
      json,
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
