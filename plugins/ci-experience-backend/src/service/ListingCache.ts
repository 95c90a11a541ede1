/**
 * Answers of the run listing, kept for a moment: a page that many viewers
 * poll is read from the database once per change, not once per view. Writes
 * in this process (a sync, a webhook) drop the answers about their source at
 * once; writes by another replica show within the time to live.
 */
export class ListingCache<T> {
  private readonly entries = new Map<
    string,
    { at: number; versions: number[]; sourceKeys: string[]; value: T }
  >();
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly options: {
      ttlMs?: number;
      maxEntries?: number;
      now?: () => number;
    } = {},
  ) {}

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      return undefined;
    }
    const fresh =
      this.now() - entry.at < (this.options.ttlMs ?? 2000) &&
      entry.sourceKeys.every((k, i) => this.version(k) === entry.versions[i]);
    if (!fresh) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, sourceKeys: string[], value: T) {
    this.entries.delete(key);
    this.entries.set(key, {
      at: this.now(),
      sourceKeys,
      versions: sourceKeys.map(k => this.version(k)),
      value,
    });
    const max = this.options.maxEntries ?? 2000;
    for (const k of this.entries.keys()) {
      if (this.entries.size <= max) {
        break;
      }
      this.entries.delete(k);
    }
  }

  /** Something about this source changed: its runs or its sync state. */
  changed(sourceKey: string) {
    this.versions.set(sourceKey, this.version(sourceKey) + 1);
  }

  private version(sourceKey: string) {
    return this.versions.get(sourceKey) ?? 0;
  }

  private now() {
    return this.options.now?.() ?? Date.now();
  }
}
