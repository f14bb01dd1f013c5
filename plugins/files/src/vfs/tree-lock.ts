import type { InstanceRef, Locks } from '@cozy-ts/kernel';

/** Long enough for a big directory move; the lease is renewed while the work runs anyway. */
const LEASE_MS = 60_000;

/**
 * cozy-stack's per-instance "vfs" lock, through the cluster locks so every process of a farm takes the same one:
 * tree changes (create, rename, move, trash, restore, destroy, the commit of an upload) run one at a time per
 * instance, so checks (name free, not into its own subtree) still hold when the change is written.
 */
export class TreeLock {
  constructor(
    private readonly locks: Locks,
    private readonly waitMs: number,
  ) {}

  run<T>(inst: InstanceRef, fn: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`files:tree:${inst.prefix}`, { ttlMs: LEASE_MS, waitMs: this.waitMs }, fn);
  }
}
