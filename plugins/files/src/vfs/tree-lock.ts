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
  /** Domains whose lock this process holds right now. */
  readonly #holding = new Set<string>();

  constructor(
    private readonly locks: Locks,
    private readonly waitMs: number,
    private readonly onHold?: (inst: InstanceRef) => Promise<void>,
  ) {}

  run<T>(inst: InstanceRef, fn: () => Promise<T>): Promise<T> {
    return this.runReading(inst, async () => {
      await this.onHold?.(inst);
      this.#holding.add(inst.domain);
      try {
        return await fn();
      } finally {
        this.#holding.delete(inst.domain);
      }
    });
  }

  /**
   * The lock for a reader that must not see a tree change halfway (the changes feed during a directory move): held
   * like a writer's, but the tree generation stays where it is. Moving it would tell every other process of a farm
   * that the tree changed, and each would drop its listings, for each poll of a sync client. Not counted by
   * {@link holds}: a reader never checked the generation, so it vouches for no listing.
   */
  runReading<T>(inst: InstanceRef, fn: () => Promise<T>): Promise<T> {
    return this.locks.withLock(`files:tree:${inst.prefix}`, { ttlMs: LEASE_MS, waitMs: this.waitMs }, fn);
  }

  /**
   * Whether this process holds the instance's lock at the moment: then no other process is changing its tree. (Code
   * of this process not running under the lock may be told so too; for what the caller does with the answer, see
   * FilesIndex.child, that is enough.)
   */
  holds(inst: InstanceRef): boolean {
    return this.#holding.has(inst.domain);
  }
}
