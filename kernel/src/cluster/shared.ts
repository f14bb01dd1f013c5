/**
 * Pieces both cluster backends share, so that memory and Redis agree on argument rules, error kinds and
 * pub/sub delivery semantics instead of drifting apart.
 */
import { KernelErrors, type CozyError } from '../errors.ts';
import type { MessageHandler } from './types.ts';

/**
 * Validates a lease/expiry length. Redis PX only takes positive integers, so both backends round up to whole
 * milliseconds and reject 0/negative values (0 would silently mean "no expiry" in keyv but an error in Redis).
 */
export function normaliseTtl(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

export function requireTtl(ttlMs: number): number {
  const ttl = normaliseTtl(ttlMs);
  if (ttl === undefined) throw new RangeError('ttlMs is required');
  return ttl;
}

/** INCRBY only accepts 64-bit integers; enforcing safe integers keeps memory from accepting what Redis refuses. */
export function requireStep(by: number): number {
  if (!Number.isSafeInteger(by)) throw new RangeError(`increment step must be a safe integer, got ${by}`);
  return by;
}

/**
 * Values cross process boundaries as JSON. Top-level values JSON cannot represent would come back as
 * something else (or not at all), so they are refused up front on both backends.
 */
export function assertStorable(value: unknown): void {
  const kind = typeof value;
  if (value === undefined || kind === 'function' || kind === 'symbol' || kind === 'bigint') {
    throw new TypeError(`cache values must be JSON-serialisable, got ${kind}`);
  }
}

export function notAnInteger(key: string, cause?: unknown): CozyError {
  return KernelErrors.internal(`Cannot increment cache key "${key}": its value is not an integer`, { cause });
}

/**
 * Serialises async operations per key. Used where a read-modify-write spans awaits (keyv is async even over a
 * Map) and where Redis (un)subscribe calls for one channel must not interleave.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    // Tails never reject (see below), so chaining on fulfilment alone is enough.
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    // The tail swallows the outcome: a failed operation must not poison the queue for the next caller.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

interface Subscription {
  readonly handler: MessageHandler;
}

/**
 * Handlers per channel. Each subscribe call gets its own entry, so the same function subscribed twice is
 * called twice and unsubscribing one leaves the other.
 */
export class HandlerRegistry {
  readonly #channels = new Map<string, Set<Subscription>>();

  add(channel: string, handler: MessageHandler): Subscription {
    const entry: Subscription = { handler };
    let set = this.#channels.get(channel);
    if (!set) this.#channels.set(channel, (set = new Set()));
    set.add(entry);
    return entry;
  }

  /** Returns true when this removed the channel's last handler. */
  remove(channel: string, entry: Subscription): boolean {
    const set = this.#channels.get(channel);
    if (!set || !set.delete(entry)) return false;
    if (set.size > 0) return false;
    this.#channels.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.#channels.has(channel);
  }

  snapshot(channel: string): Subscription[] {
    return [...(this.#channels.get(channel) ?? [])];
  }

  isActive(channel: string, entry: Subscription): boolean {
    return this.#channels.get(channel)?.has(entry) ?? false;
  }

  /**
   * Calls every handler still subscribed. Handler failures (thrown or rejected) are contained here: pub/sub is
   * fire-and-forget, there is nobody to report to, and one bad subscriber must not starve the others or crash
   * the process with an unhandled rejection.
   */
  deliver(channel: string, message: string, entries: Subscription[] = this.snapshot(channel)): void {
    for (const entry of entries) {
      if (!this.isActive(channel, entry)) continue;
      try {
        const result: unknown = entry.handler(message, channel);
        if (isPromiseLike(result)) result.then(undefined, () => undefined);
      } catch {
        // Contained on purpose, see above.
      }
    }
  }

  clear(): void {
    this.#channels.clear();
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
