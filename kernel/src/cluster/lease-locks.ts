/**
 * Locks on top of a lease store. Backends only provide the three atomic lease primitives; waiting, lock
 * handles and withLock's renewal loop live here once, so memory and Redis cannot disagree on them.
 */
import { randomUUID } from 'node:crypto';
import { KernelErrors } from '../errors.ts';
import { requireTtl } from './shared.ts';
import type { AcquireOptions, Lock, Locks } from './types.ts';

/** Atomic lease operations. A token identifies one acquisition, so a stale holder cannot touch a newer one. */
export interface LeaseStore {
  /** Takes the lease if it is free or expired; true when taken. */
  tryTake(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease only while `token` still holds it. */
  extend(name: string, token: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease only while `token` still holds it. */
  drop(name: string, token: string): Promise<void>;
}

// Waiters in other processes can only learn about a release by polling; backing off keeps a crowd of them from
// hammering the store while the first retry stays quick for short critical sections.
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

export function createLeaseLocks(store: LeaseStore): Locks {
  // Same-process waiters are woken on release instead of waiting for their next poll.
  const wakers = new Map<string, Set<() => void>>();

  function wake(name: string): void {
    const set = wakers.get(name);
    if (!set) return;
    wakers.delete(name);
    for (const fn of set) fn();
  }

  function pause(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = wakers.get(name);
      if (!set) wakers.set(name, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        wakers.get(name)?.delete(done);
        if (wakers.get(name)?.size === 0) wakers.delete(name);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  function handle(name: string, token: string): Lock {
    let released = false;
    return {
      name,
      async renew(ttlMs: number): Promise<boolean> {
        const ttl = requireTtl(ttlMs);
        if (released) return false;
        return store.extend(name, token, ttl);
      },
      async release(): Promise<void> {
        if (released) return;
        await store.drop(name, token);
        // Marked only after the store agreed, so a release that failed (store down) can be retried.
        released = true;
        wake(name);
      },
    };
  }

  async function acquire(name: string, opts: AcquireOptions): Promise<Lock | null> {
    const ttl = requireTtl(opts.ttlMs);
    const deadline = Date.now() + Math.max(0, opts.waitMs ?? 0);
    const token = randomUUID();
    let delay = FIRST_POLL_MS;
    for (;;) {
      if (await store.tryTake(name, token, ttl)) return handle(name, token);
      const left = deadline - Date.now();
      if (left <= 0) return null;
      // Jitter spreads competing waiters so they do not retry in lock-step.
      await pause(name, Math.min(left, delay / 2 + Math.random() * delay));
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  }

  async function withLock<T>(name: string, opts: AcquireOptions, fn: () => Promise<T>): Promise<T> {
    const lock = await acquire(name, opts);
    if (!lock) {
      throw KernelErrors.lockTimeout(`Could not acquire the lock "${name}" within ${opts.waitMs ?? 0} ms`);
    }
    const keeper = keepAlive(lock, requireTtl(opts.ttlMs));
    try {
      return await fn();
    } finally {
      keeper.stop();
      // The lease expires on its own, so a release the store could not take must not replace fn's outcome.
      await lock.release().catch(() => undefined);
    }
  }

  return { acquire, withLock };
}

/**
 * Renews at half the lease so one slow round-trip cannot let it lapse. A failed renewal (store unreachable) is
 * retried sooner; a refused one means the lease is gone, and renewing further would be pointless.
 */
function keepAlive(lock: Lock, ttlMs: number): { stop(): void } {
  const every = Math.max(1, Math.floor(ttlMs / 2));
  const retry = Math.max(1, Math.floor(ttlMs / 8));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    // The caller's fn keeps the process alive if it has work to do; the renewal alone must not.
    timer.unref();
  };
  const tick = (): void => {
    lock.renew(ttlMs).then(
      (held) => {
        if (held) schedule(every);
      },
      () => schedule(retry),
    );
  };

  schedule(every);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
