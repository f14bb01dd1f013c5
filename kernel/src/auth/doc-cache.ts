import { BoundedMap } from '../bounded-map.ts';
import type { PubSub } from '../cluster/types.ts';
import type { DocEvent, DocEventBus } from '../events/doc-events.ts';
import { INSTANCE_INVALIDATE_CHANNEL } from '../instances/instance-service.ts';

export interface DocCacheOptions {
  doctype: string;
  /** Tells the other processes which entry to drop; one channel per cache. */
  channel: string;
  max: number;
  ttlMs: number;
  /** This process's writes: each one drops its entry here and, through `pubsub`, on every process. */
  events?: DocEventBus;
  pubsub?: PubSub;
  /** Writes that leave everything callers rely on as it was (a last-use stamp), so nothing need be read again. */
  harmless?: (event: DocEvent) => boolean;
}

interface Entry<V> {
  value: V;
  until: number;
}

function keyOf(domain: string, id: string): string {
  return `${domain}\n${id}`;
}

/**
 * What the kernel's auth code derived from one document of an instance (an OAuth client, a device password),
 * kept per process so that credentials sent on every request do not cost a store read each. An entry goes:
 * - when its document is written through any process's DocumentStore: the doc event drops it there, and the
 *   pub/sub message on every other process of the farm;
 * - with every entry of its instance when the instance is created, modified or destroyed (a destruction removes
 *   the databases without a doc event, and a domain can be created again with new documents);
 * - after `ttlMs` otherwise, which bounds writes that bypass the DocumentStore and lost pub/sub messages.
 * A read that an invalidation overtook is not stored (`mark` / `set`), so a drop is never undone by a late answer.
 */
export class DocCache<V> {
  readonly #entries: BoundedMap<string, Entry<V>>;
  /** Bumped by every drop: an answer read before it may be stale. */
  #epoch = 0;
  #off: Array<() => void | Promise<void>> = [];

  constructor(private readonly opts: DocCacheOptions) {
    this.#entries = new BoundedMap(opts.max);
  }

  async start(): Promise<void> {
    if (this.#off.length > 0) return;
    const { events, pubsub, doctype, harmless } = this.opts;
    try {
      if (events) {
        this.#off.push(
          events.on((e) => {
            if (e.doctype !== doctype || harmless?.(e)) return;
            return this.forget(e.domain, e.doc._id);
          }),
        );
      }
      if (pubsub) {
        this.#off.push(await pubsub.subscribe(this.opts.channel, (key) => this.#drop(key)));
        this.#off.push(await pubsub.subscribe(INSTANCE_INVALIDATE_CHANNEL, (domain) => this.#dropInstance(domain)));
      }
    } catch (err) {
      // Half started (Redis down) would make a later start() a no-op: undo, so that it can be tried again.
      await this.stop().catch(() => undefined);
      throw err;
    }
  }

  async stop(): Promise<void> {
    const off = this.#off;
    this.#off = [];
    this.#entries.clear();
    for (const fn of off) await fn();
  }

  get(domain: string, id: string): V | undefined {
    const key = keyOf(domain, id);
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    if (hit.until > Date.now()) return hit.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** Take before reading the document, and hand to `set` with what was read. */
  mark(): number {
    return this.#epoch;
  }

  set(domain: string, id: string, value: V, mark: number): void {
    if (mark !== this.#epoch) return;
    this.#entries.set(keyOf(domain, id), { value, until: Date.now() + this.opts.ttlMs });
  }

  /** Drops the entry on this process only. */
  drop(domain: string, id: string): void {
    this.#drop(keyOf(domain, id));
  }

  /** Drops the entry on this process and, when there is a pub/sub, on every other one. */
  async forget(domain: string, id: string): Promise<void> {
    const key = keyOf(domain, id);
    this.#drop(key);
    await this.opts.pubsub?.publish(this.opts.channel, key).catch(() => undefined);
  }

  get size(): number {
    return this.#entries.size;
  }

  #drop(key: string): void {
    this.#epoch++;
    this.#entries.delete(key);
  }

  #dropInstance(domain: string): void {
    this.#epoch++;
    const prefix = `${domain}\n`;
    // Deleting the entry being visited is safe while iterating a Map.
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }
}
