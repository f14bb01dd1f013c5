/**
 * Cluster ports: what several stateless server processes must share. Memory implementations serve a single
 * process (the Pi); Redis implementations serve a farm. The contract suite in
 * `kernel/src/testing/cluster-contract.ts` runs against both.
 */

/** Cache and short-lived secrets. Values are JSON-serialisable. */
export interface Cache {
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** `ttlMs` absent = no expiry. */
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  /**
   * Atomically adds `by` (default 1) and returns the new value; a missing key starts at 0. `ttlMs` is set
   * only when the key is created, so a window of counting starts at the first hit (brute-force counters).
   */
  increment(key: string, ttlMs?: number, by?: number): Promise<number>;
  /** Atomically stores the value only when the key is absent; true if stored (single-use codes, dedup). */
  setIfAbsent(key: string, value: unknown, ttlMs?: number): Promise<boolean>;
  /** Atomically reads and deletes (single-use tokens). */
  take<T = unknown>(key: string): Promise<T | undefined>;
  ping(): Promise<void>;
}

export interface Lock {
  readonly name: string;
  /** Extends the lease; false when the lock was lost (expired and taken by another holder). */
  renew(ttlMs: number): Promise<boolean>;
  /** Releases only if still held by this holder; idempotent. */
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Lease length; the lock frees itself after this unless renewed. */
  ttlMs: number;
  /** How long to wait for a held lock; 0 (default) = try once. */
  waitMs?: number;
}

export interface Locks {
  /** Resolves to the lock, or null when it is still held by someone else after `waitMs`. */
  acquire(name: string, opts: AcquireOptions): Promise<Lock | null>;
  /**
   * Runs `fn` holding the lock, renewing the lease while it runs; throws KernelErrors.lockTimeout when the
   * lock cannot be had within `waitMs`.
   */
  withLock<T>(name: string, opts: AcquireOptions, fn: () => Promise<T>): Promise<T>;
}

export type MessageHandler = (message: string, channel: string) => void;

/** Fire-and-forget fan-out to every process (including the publisher's own subscribers). */
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; the returned function unsubscribes. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
}

export interface ClusterPorts {
  readonly kind: 'memory' | 'redis';
  readonly cache: Cache;
  readonly locks: Locks;
  readonly pubsub: PubSub;
  close(): Promise<void>;
}
