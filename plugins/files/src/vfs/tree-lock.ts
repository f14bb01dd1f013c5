import { AsyncLocalStorage } from 'node:async_hooks';
import type { InstanceRef, Locks } from '@cozy-ts/kernel';

/** Long enough for a big directory move; the lease is renewed while the work runs anyway. */
const LEASE_MS = 60_000;

/**
 * cozy-stack's per-instance "vfs" lock, through the cluster locks so every process of a farm takes the same one:
 * tree changes (create, rename, move, trash, restore, destroy, the commit of an upload) run one at a time per
 * instance, so checks (name free, not into its own subtree) still hold when the change is written. `onHold` runs
 * first thing under the lock, before the holder changes anything (it moves the tree generation, see ChildNames).
 */
export class TreeLock {
  /**
   * The hold the current async context runs under. Work started under the lock (doc event listeners, say) keeps
   * the context after the release, hence `active`.
   */
  readonly #held = new AsyncLocalStorage<{ domain: string; active: boolean }>();

  constructor(
    private readonly locks: Locks,
    private readonly waitMs: number,
    private readonly onHold?: (inst: InstanceRef) => Promise<void>,
  ) {}

  run<T>(inst: InstanceRef, fn: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`files:tree:${inst.prefix}`, { ttlMs: LEASE_MS, waitMs: this.waitMs }, async () => {
      await this.onHold?.(inst);
      const hold = { domain: inst.domain, active: true };
      try {
        return await this.#held.run(hold, fn);
      } finally {
        hold.active = false;
      }
    });
  }

  /** Whether the calling code runs under this instance's lock (taken through {@link run}). */
  holds(inst: InstanceRef): boolean {
    const hold = this.#held.getStore();
    return hold !== undefined && hold.active && hold.domain === inst.domain;
  }
}
