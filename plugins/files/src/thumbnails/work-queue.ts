export interface WorkQueueOptions {
  /** Jobs run at once. */
  concurrency: number;
  /** Jobs waiting at most; more are dropped (and reported through `onDrop`). */
  maxPending: number;
  onError(err: unknown, key: string): void;
  onDrop?(key: string): void;
}

/**
 * A bounded in-process queue of keyed jobs: at most `concurrency` run at once, at most `maxPending` wait, and a
 * key already waiting is not queued twice (ten quick overwrites of a photo make one job, run on its last
 * content). A flood of work therefore costs bounded memory and bounded CPU; what is dropped is redone on demand.
 */
export class WorkQueue {
  readonly #pending = new Map<string, () => Promise<void>>();
  readonly #running = new Set<string>();
  /** Keys queued again while running: they run once more afterwards, on the newest state. */
  readonly #again = new Map<string, () => Promise<void>>();
  #idle: Array<() => void> = [];
  #stopped = false;

  constructor(private readonly opts: WorkQueueOptions) {}

  get size(): number {
    return this.#pending.size + this.#running.size;
  }

  /** Queues a job; false when it was dropped (queue full or stopped). */
  push(key: string, job: () => Promise<void>): boolean {
    if (this.#stopped) return false;
    if (this.#running.has(key)) {
      this.#again.set(key, job);
      return true;
    }
    if (this.#pending.has(key)) {
      this.#pending.set(key, job);
      return true;
    }
    if (this.#pending.size >= this.opts.maxPending) {
      this.opts.onDrop?.(key);
      return false;
    }
    this.#pending.set(key, job);
    this.#pump();
    return true;
  }

  /** Resolves when nothing is waiting nor running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Drops what waits and resolves once the running jobs are over. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pending.clear();
    this.#again.clear();
    await this.idle();
  }

  #pump(): void {
    while (this.#running.size < this.opts.concurrency && this.#pending.size > 0) {
      const [key, job] = this.#pending.entries().next().value as [string, () => Promise<void>];
      this.#pending.delete(key);
      this.#run(key, job);
    }
    if (this.size === 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const resolve of waiters) resolve();
    }
  }

  #run(key: string, job: () => Promise<void>): void {
    this.#running.add(key);
    void (async () => {
      try {
        await job();
      } catch (err) {
        this.opts.onError(err, key);
      } finally {
        this.#running.delete(key);
        const again = this.#again.get(key);
        if (again && !this.#stopped) {
          this.#again.delete(key);
          this.#pending.set(key, again);
        }
        this.#pump();
      }
    })();
  }
}
