/**
 * Single-process cluster ports (the Pi): a keyv memory cache, in-process leases and in-process pub/sub.
 */
import Keyv from 'keyv';
import { createLeaseLocks, type LeaseStore } from './lease-locks.ts';
import {
  HandlerRegistry,
  KeyedMutex,
  assertStorable,
  normaliseTtl,
  notAnInteger,
  requireStep,
} from './shared.ts';
import type { Cache, ClusterPorts, PubSub } from './types.ts';

// keyv only drops an expired entry when it is read again; a periodic sweep bounds what abandoned keys
// (brute-force counters nobody reads after their window) and forgotten leases can hold on to.
const SWEEP_EVERY_MS = 60_000;

export function createMemoryCluster(): ClusterPorts {
  const entries = new Map<string, unknown>();
  const keyv = new Keyv<unknown>({
    store: entries,
    // Keys stay as given: this Keyv owns its Map, so there is nothing to namespace against.
    useKeyPrefix: false,
    // Plain JSON (rather than keyv's default serializer, which revives Buffers and escapes ':' strings) so a
    // value comes back exactly as it would from Redis, and callers never share references with the cache.
    serialize: JSON.stringify,
    deserialize: JSON.parse,
    throwOnErrors: true,
  });

  // keyv's API is async even over a Map, so a read-modify-write has awaits between its read and its write.
  // Every operation on a key goes through this queue, which makes increment/setIfAbsent/take atomic with
  // respect to each other and to plain set/delete — and keeps a lazy expiry-delete inside keyv.get from
  // removing a value another operation has just written.
  const perKey = new KeyedMutex();

  const cache: Cache = {
    get<T = unknown>(key: string): Promise<T | undefined> {
      return perKey.run(key, () => keyv.get(key) as Promise<T | undefined>);
    },

    async set(key: string, value: unknown, ttlMs?: number): Promise<void> {
      assertStorable(value);
      const ttl = normaliseTtl(ttlMs);
      await perKey.run(key, async () => {
        await keyv.set(key, value, ttl);
      });
    },

    delete(key: string): Promise<boolean> {
      return perKey.run(key, async () => {
        // The read purges an expired entry first, so an expired key reports as absent like in Redis.
        await keyv.get(key);
        return keyv.delete(key);
      });
    },

    async increment(key: string, ttlMs?: number, by = 1): Promise<number> {
      const ttl = normaliseTtl(ttlMs);
      const step = requireStep(by);
      return perKey.run(key, async () => {
        const current = await keyv.get(key, { raw: true });
        if (current === undefined) {
          await keyv.set(key, step, ttl);
          return step;
        }
        if (!Number.isSafeInteger(current.value)) throw notAnInteger(key);
        const next = (current.value as number) + step;
        // keyv.set replaces the expiry, so the remaining part of the original window is carried over.
        const remaining = typeof current.expires === 'number' ? current.expires - Date.now() : undefined;
        if (remaining !== undefined && remaining <= 0) {
          // Expired between keyv's check and now: this hit opens a new window.
          await keyv.set(key, step, ttl);
          return step;
        }
        await keyv.set(key, next, remaining);
        return next;
      });
    },

    async setIfAbsent(key: string, value: unknown, ttlMs?: number): Promise<boolean> {
      assertStorable(value);
      const ttl = normaliseTtl(ttlMs);
      return perKey.run(key, async () => {
        if ((await keyv.get(key)) !== undefined) return false;
        await keyv.set(key, value, ttl);
        return true;
      });
    },

    take<T = unknown>(key: string): Promise<T | undefined> {
      return perKey.run(key, async () => {
        const value = (await keyv.get(key)) as T | undefined;
        if (value !== undefined) await keyv.delete(key);
        return value;
      });
    },

    async ping(): Promise<void> {},
  };

  // Leases need no keyv: they are compared by token and read synchronously, which is what makes each
  // primitive atomic here (no await between the check and the write).
  const leases = new Map<string, { token: string; expiresAt: number }>();
  const leaseStore: LeaseStore = {
    async tryTake(name, token, ttlMs) {
      const now = Date.now();
      const current = leases.get(name);
      if (current && current.expiresAt > now) return false;
      leases.set(name, { token, expiresAt: now + ttlMs });
      return true;
    },
    async extend(name, token, ttlMs) {
      const now = Date.now();
      const current = leases.get(name);
      if (!current || current.token !== token || current.expiresAt <= now) return false;
      current.expiresAt = now + ttlMs;
      return true;
    },
    async drop(name, token) {
      if (leases.get(name)?.token === token) leases.delete(name);
    },
  };

  const handlers = new HandlerRegistry();
  const pubsub: PubSub = {
    async publish(channel: string, message: string): Promise<void> {
      // Receivers are fixed at publish time (as Redis does), delivery happens on a later turn so a publisher
      // never re-enters its own handlers; setImmediate callbacks run FIFO, which keeps per-channel order.
      const receivers = handlers.snapshot(channel);
      if (receivers.length > 0) setImmediate(() => handlers.deliver(channel, message, receivers));
    },
    async subscribe(channel, handler) {
      const entry = handlers.add(channel, handler);
      return async () => {
        handlers.remove(channel, entry);
      };
    },
  };

  const sweeper = setInterval(() => {
    for (const key of [...entries.keys()]) void perKey.run(key, () => keyv.get(key));
    const now = Date.now();
    for (const [name, lease] of leases) if (lease.expiresAt <= now) leases.delete(name);
  }, SWEEP_EVERY_MS);
  // The sweep is housekeeping; it must never be what keeps the process running.
  sweeper.unref();

  return {
    kind: 'memory',
    cache,
    locks: createLeaseLocks(leaseStore),
    pubsub,
    async close() {
      clearInterval(sweeper);
      handlers.clear();
    },
  };
}
