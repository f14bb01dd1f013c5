import { BoundedMap } from '../bounded-map.ts';
import type { InstanceDoc } from './instance.ts';

interface Entry {
  doc: InstanceDoc | null;
  expires: number;
}

/**
 * Per-process cache of Host lookups. Entries are short-lived and dropped on the cluster-wide invalidation
 * message, so a process never serves an instance another process has destroyed for longer than a publish.
 * Misses are cached too (briefly) so a flood of unknown hosts does not turn into store reads.
 */
export class InstanceCache {
  readonly #entries: BoundedMap<string, Entry>;

  constructor(
    private readonly ttlMs = 60_000,
    private readonly missTtlMs = 2_000,
    maxEntries = 50_000,
  ) {
    this.#entries = new BoundedMap(maxEntries);
  }

  get(domain: string): InstanceDoc | null | undefined {
    const e = this.#entries.get(domain);
    if (!e) return undefined;
    if (e.expires < Date.now()) {
      this.#entries.delete(domain);
      return undefined;
    }
    return e.doc;
  }

  set(domain: string, doc: InstanceDoc | null): void {
    this.#entries.set(domain, { doc, expires: Date.now() + (doc ? this.ttlMs : this.missTtlMs) });
  }

  delete(domain: string): void {
    this.#entries.delete(domain);
  }

  clear(): void {
    this.#entries.clear();
  }
}
