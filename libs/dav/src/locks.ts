import { randomUUID } from 'node:crypto';
import type { Cache, Locks } from '@cozy-ts/kernel';
import { isStrictlyWithin, isWithin, parentPath } from './paths.ts';

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = '0' | 'infinity';

/** An active write lock (RFC 4918 §6). JSON-serialisable: it lives in the cluster cache. */
export interface DavLock {
  /** `urn:uuid:…`. */
  token: string;
  /** The resource path the lock was taken on. */
  root: string;
  /** Whether the root is a collection (its href then ends with a slash). */
  rootCollection: boolean;
  scope: LockScope;
  depth: LockDepth;
  /** The `<D:owner>` content as the client sent it, serialised XML; returned as is in lockdiscovery. */
  owner?: string;
  /** Who took it (the authenticated subject), for logs and for a backend that wants to show it. */
  principal?: string;
  /** The granted timeout in seconds. */
  timeoutSeconds: number;
  /** Epoch milliseconds after which the lock no longer exists. */
  expiresAt: number;
}

/**
 * Where lock state lives. A namespace is one DAV tree (e.g. one instance's files); a store MUST make `update`
 * atomic for a namespace across every process that shares it, and MUST NOT return expired locks.
 */
export interface LockStore {
  list(namespace: string): Promise<DavLock[]>;
  /** Runs `fn` on the live locks and stores the list it returns, atomically. */
  update<T>(namespace: string, fn: (locks: DavLock[]) => { locks: DavLock[]; result: T }): Promise<T>;
}

const live = (locks: DavLock[], now = Date.now()) => locks.filter((l) => l.expiresAt > now);

/** Lock state in one process: for tests and single-process tools. */
export class MemoryLockStore implements LockStore {
  readonly #byNs = new Map<string, DavLock[]>();
  #queue: Promise<unknown> = Promise.resolve();

  async list(namespace: string): Promise<DavLock[]> {
    return live(this.#byNs.get(namespace) ?? []);
  }

  update<T>(namespace: string, fn: (locks: DavLock[]) => { locks: DavLock[]; result: T }): Promise<T> {
    const run = this.#queue.then(async () => {
      const { locks, result } = fn(live(this.#byNs.get(namespace) ?? []));
      if (locks.length) this.#byNs.set(namespace, locks);
      else this.#byNs.delete(namespace);
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Lock state in the kernel's cluster cache, so a lock taken through one process binds every other (memory
 * cache on a Pi, Redis in a farm). One cache entry per namespace holds its list: a namespace has few locks,
 * and one read answers both "what covers this path" and "what lies below it". Writers serialise on a cluster
 * lock of the same name; the entry expires with its longest lock.
 */
export class ClusterLockStore implements LockStore {
  constructor(
    private readonly cache: Cache,
    private readonly locks: Locks,
    private readonly prefix = 'dav:locks:',
  ) {}

  async list(namespace: string): Promise<DavLock[]> {
    return live((await this.cache.get<DavLock[]>(this.prefix + namespace)) ?? []);
  }

  update<T>(namespace: string, fn: (locks: DavLock[]) => { locks: DavLock[]; result: T }): Promise<T> {
    const key = this.prefix + namespace;
    return this.locks.withLock(`${key}:write`, { ttlMs: 10_000, waitMs: 10_000 }, async () => {
      const { locks, result } = fn(live((await this.cache.get<DavLock[]>(key)) ?? []));
      if (!locks.length) await this.cache.delete(key);
      else await this.cache.set(key, locks, Math.max(...locks.map((l) => l.expiresAt)) - Date.now() + 1000);
      return result;
    });
  }
}

export function newLockToken(): string {
  return `urn:uuid:${randomUUID()}`;
}

/** Locks that apply to `path`: taken on it, or on an ancestor with depth infinity. */
export function locksCovering(locks: readonly DavLock[], path: string): DavLock[] {
  return locks.filter((l) => l.root === path || (l.depth === 'infinity' && isStrictlyWithin(l.root, path)));
}

/** Locks taken on resources strictly below `path`. */
export function locksBelow(locks: readonly DavLock[], path: string): DavLock[] {
  return locks.filter((l) => isStrictlyWithin(path, l.root));
}

/** Existing locks a new lock on `path` would conflict with (exclusive excludes all, shared excludes exclusive). */
export function conflictingLocks(locks: readonly DavLock[], path: string, scope: LockScope, depth: LockDepth): DavLock[] {
  const candidates = depth === 'infinity' ? [...locksCovering(locks, path), ...locksBelow(locks, path)] : locksCovering(locks, path);
  return candidates.filter((l) => scope === 'exclusive' || l.scope === 'exclusive');
}

export interface WriteScope {
  /** The resource whose content or properties change. */
  path: string;
  /** It is created or removed, so the membership of its parent changes too. */
  membership?: boolean;
  /** Everything below it changes too (DELETE or MOVE of a collection, COPY over one). */
  recursive?: boolean;
}

/**
 * The locks a write must prove it holds a token of (RFC 4918 §7): the locks covering the resource, the parent's
 * locks when membership changes (a depth-0 lock on a collection protects its member list), and every lock
 * below when the whole subtree is affected. Shared locks count: holding any one token of the set is enough
 * for each lock only through its own token, so the caller checks each returned lock.
 */
export function locksBlockingWrite(locks: readonly DavLock[], scope: WriteScope): DavLock[] {
  const found = new Map<string, DavLock>();
  for (const l of locksCovering(locks, scope.path)) found.set(l.token, l);
  if (scope.membership && scope.path !== '/') for (const l of locksCovering(locks, parentPath(scope.path))) found.set(l.token, l);
  if (scope.recursive) for (const l of locksBelow(locks, scope.path)) found.set(l.token, l);
  return [...found.values()];
}

/**
 * Which blocking locks are not satisfied by the submitted tokens. Shared locks on one root are a group: a token
 * of any of them satisfies all (they share the resource), while each exclusive lock needs its own token.
 */
export function unsatisfiedLocks(blocking: readonly DavLock[], submitted: ReadonlySet<string>): DavLock[] {
  const satisfiedRoots = new Set(blocking.filter((l) => l.scope === 'shared' && submitted.has(l.token)).map((l) => l.root));
  return blocking.filter((l) => !submitted.has(l.token) && !(l.scope === 'shared' && satisfiedRoots.has(l.root)));
}

/** Drops the locks taken on `path` or below (the resource is gone). */
export function withoutLocksWithin(locks: readonly DavLock[], path: string): DavLock[] {
  return locks.filter((l) => !isWithin(path, l.root));
}

export interface TimeoutPolicy {
  /** Granted when the client asks for none or for Infinite. */
  defaultSeconds: number;
  /** The most granted, whatever the client asks. */
  maxSeconds: number;
}

export const DEFAULT_TIMEOUTS: TimeoutPolicy = { defaultSeconds: 3600, maxSeconds: 86_400 };

/** Reads a `Timeout:` header (`Second-600, Infinite`): the first value understood, capped by the policy. */
export function parseTimeout(header: string | undefined, policy: TimeoutPolicy = DEFAULT_TIMEOUTS): number {
  if (!header) return policy.defaultSeconds;
  for (const part of header.split(',')) {
    const v = part.trim();
    if (/^infinite$/i.test(v)) return Math.min(policy.defaultSeconds, policy.maxSeconds);
    const m = /^second-(\d{1,12})$/i.exec(v);
    if (m) return Math.max(1, Math.min(Number(m[1]), policy.maxSeconds));
  }
  return policy.defaultSeconds;
}
