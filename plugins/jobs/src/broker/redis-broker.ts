import { randomUUID } from 'node:crypto';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { JobsErrors } from '../errors.ts';
import type { Broker, EnqueueOptions, Lease, QueueCounts } from './types.ts';

export interface RedisBrokerOptions {
  url: string;
  /** BullMQ key prefix, so several stacks can share one Redis. */
  prefix?: string;
  leaseMs?: number;
  dedupMs?: number;
}

interface QueueHandle {
  queue: Queue;
  worker: Worker;
  /**
   * The one blocking fetch of this worker in flight, if any: BullMQ keeps a single wait per worker (a second blocking
   * call returns at once), so other claims wait for it to wake rather than spin.
   */
  blocking?: Promise<void>;
}

function unavailable(err: unknown): never {
  if ((err as { code?: string }).code === JobsErrors.brokerUnavailable.code) throw err;
  throw JobsErrors.brokerUnavailable(undefined, { cause: err });
}

/** How long a broker call may wait on Redis: BullMQ's connection queues commands while Redis is away, forever. */
const CALL_TIMEOUT_MS = 5_000;

function bounded<T>(call: Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(JobsErrors.brokerUnavailable('Redis did not answer in time')), ms);
  });
  call.catch(() => undefined);
  return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The farm's broker: BullMQ queues on Redis, consumed in BullMQ's "manual" mode (getNextJob, extendLock,
 * moveToCompleted / moveToFailed / moveToDelayed) so that in-process workers and external workers share one
 * lease protocol. Retries are decided by the jobs plugin (a job is added with a single BullMQ attempt and put
 * back in the delayed set on a retry), and a lapsed lock is BullMQ's "stalled job", moved back to wait by the
 * stalled checker every `leaseMs`.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis' as const;
  readonly leaseMs: number;
  readonly #dedupMs: number;
  readonly #prefix: string;
  readonly #connection: Redis;
  readonly #queues = new Map<string, QueueHandle>();
  /** Jobs this process claimed, by queue and id: settling them then costs no extra read. */
  readonly #claimed = new Map<string, Job>();
  #closed = false;

  private constructor(opts: RedisBrokerOptions, connection: Redis) {
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.#dedupMs = opts.dedupMs ?? 3_600_000;
    this.#prefix = opts.prefix ?? 'cozy-jobs';
    this.#connection = connection;
  }

  /** One try; `signal` ends a try in progress at once (a stop while Redis is away must not wait for the timeout). */
  static async connect(opts: RedisBrokerOptions, signal?: AbortSignal): Promise<RedisBroker> {
    if (signal?.aborted) throw JobsErrors.brokerUnavailable('The broker is closed');
    // BullMQ's workers block on Redis, which needs maxRetriesPerRequest: null; a dead Redis is seen by ping below.
    const connection = new Redis(opts.url, { maxRetriesPerRequest: null, lazyConnect: true, connectTimeout: 3_000 });
    connection.on('error', () => undefined);
    const abort = (): void => connection.disconnect();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await connection.connect();
      await bounded(connection.ping());
      if (signal?.aborted) throw JobsErrors.brokerUnavailable('The broker is closed');
    } catch (err) {
      connection.disconnect();
      unavailable(err);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
    return new RedisBroker(opts, connection);
  }

  #handle(name: string): QueueHandle {
    if (this.#closed) throw JobsErrors.brokerUnavailable('The broker is closed');
    let h = this.#queues.get(name);
    if (!h) {
      const queue = new Queue(name, { connection: this.#connection, prefix: this.#prefix });
      queue.on('error', () => undefined);
      const worker = new Worker(name, null, {
        connection: this.#connection,
        prefix: this.#prefix,
        autorun: false,
        lockDuration: this.leaseMs,
        stalledInterval: this.leaseMs,
        // Lost leases are counted by the jobs plugin (attempt > max_exec_count fails the job), not by BullMQ.
        maxStalledCount: 1_000_000,
        drainDelay: 1,
      });
      worker.on('error', () => undefined);
      void worker.startStalledCheckTimer().catch(() => undefined);
      h = { queue, worker };
      this.#queues.set(name, h);
    }
    return h;
  }

  async enqueue(queue: string, payload: unknown, opts: EnqueueOptions = {}): Promise<{ id: string; created: boolean }> {
    const h = this.#handle(queue);
    const id = opts.id ?? randomUUID();
    const delay = Math.max(0, opts.delayMs ?? 0);
    try {
      if (opts.id) {
        // BullMQ ignores an add whose id exists but does not say so; this key does, and outlives the job by dedupMs.
        const fresh = await bounded(this.#connection.set(`${this.#prefix}:dedup:${queue}:${id}`, '1', 'PX', delay + this.#dedupMs, 'NX'));
        if (fresh !== 'OK') return { id, created: false };
      }
      const age = Math.ceil(this.#dedupMs / 1000);
      await bounded(h.queue.add('job', payload, { jobId: id, delay, attempts: 1, removeOnComplete: { age }, removeOnFail: { age } }));
      return { id, created: true };
    } catch (err) {
      unavailable(err);
    }
  }

  async claim<P = unknown>(queue: string, opts: { waitMs?: number } = {}): Promise<Lease<P> | null> {
    const h = this.#handle(queue);
    return bounded(this.#claim<P>(queue, h, opts.waitMs ?? 0), (opts.waitMs ?? 0) + CALL_TIMEOUT_MS);
  }

  async #claim<P>(name: string, h: QueueHandle, waitMs: number): Promise<Lease<P> | null> {
    const deadline = Date.now() + waitMs;
    try {
      for (;;) {
        if (this.#closed) return null;
        const token = randomUUID();
        // A non-blocking fetch first: BullMQ's blocking one waits for a marker even when jobs are waiting, which
        // cut throughput to a few dozen jobs per second with several claimers.
        let job = await h.worker.getNextJob(token, { block: false });
        if (!job && waitMs > 0 && Date.now() < deadline) {
          if (h.blocking) {
            const left = deadline - Date.now();
            await Promise.race([h.blocking, new Promise((r) => setTimeout(r, left).unref())]);
            continue;
          }
          // BullMQ blocks for `drainDelay` seconds (floats are fine since Redis 6): made to fit what is left of waitMs.
          (h.worker.opts as { drainDelay: number }).drainDelay = Math.max(0.01, (deadline - Date.now()) / 1000);
          const blocking = h.worker.getNextJob(token, { block: true });
          h.blocking = blocking.then(() => undefined, () => undefined);
          try {
            job = await blocking;
          } finally {
            h.blocking = undefined;
          }
        }
        if (job?.id) {
          if (this.#claimed.size > 10_000) this.#claimed.clear();
          this.#claimed.set(`${name}\n${job.id}`, job);
          return { queue: name, id: job.id, payload: job.data as P, token, attempt: job.attemptsStarted, expiresAt: Date.now() + this.leaseMs };
        }
        if (Date.now() >= deadline) return null;
      }
    } catch (err) {
      if (this.#closed) return null;
      unavailable(err);
    }
  }

  async #job(queue: string, id: string, settle = false): Promise<Job | undefined> {
    const key = `${queue}\n${id}`;
    const mine = this.#claimed.get(key);
    if (mine) {
      if (settle) this.#claimed.delete(key);
      return mine;
    }
    return Job.fromId(this.#handle(queue).queue, id);
  }

  extend(queue: string, id: string, token: string, leaseMs = this.leaseMs): Promise<number | null> {
    return bounded(this.#extend(queue, id, token, leaseMs));
  }

  async #extend(queue: string, id: string, token: string, leaseMs: number): Promise<number | null> {
    try {
      const job = await this.#job(queue, id);
      if (!job) return null;
      const ok = await job.extendLock(token, leaseMs);
      return ok ? Date.now() + leaseMs : null;
    } catch (err) {
      if (isLockError(err)) return null;
      unavailable(err);
    }
  }

  complete(queue: string, id: string, token: string): Promise<boolean> {
    return bounded(this.#complete(queue, id, token));
  }

  async #complete(queue: string, id: string, token: string): Promise<boolean> {
    try {
      const job = await this.#job(queue, id, true);
      if (!job) return false;
      await job.moveToCompleted(null, token, false);
      return true;
    } catch (err) {
      if (isLockError(err)) return false;
      unavailable(err);
    }
  }

  fail(queue: string, id: string, token: string, opts: { error: string; final?: boolean; retryDelayMs?: number }): Promise<'retry' | 'failed' | 'lost'> {
    return bounded(this.#fail(queue, id, token, opts));
  }

  async #fail(queue: string, id: string, token: string, opts: { error: string; final?: boolean; retryDelayMs?: number }): Promise<'retry' | 'failed' | 'lost'> {
    try {
      const job = await this.#job(queue, id, true);
      if (!job) return 'lost';
      if (opts.final) {
        await job.moveToFailed(new Error(opts.error), token, false);
        return 'failed';
      }
      // moveToDelayed does not check the lock: extending it first does, atomically enough for a lease holder.
      if (!(await job.extendLock(token, this.leaseMs))) return 'lost';
      await job.moveToDelayed(Date.now() + Math.max(1, opts.retryDelayMs ?? 0), token);
      return 'retry';
    } catch (err) {
      if (isLockError(err)) return 'lost';
      unavailable(err);
    }
  }

  remove(queue: string, id: string): Promise<boolean> {
    return bounded(this.#remove(queue, id));
  }

  async #remove(queue: string, id: string): Promise<boolean> {
    try {
      const job = await this.#job(queue, id);
      if (!job || (await job.isActive())) return false;
      await job.remove();
      return true;
    } catch (err) {
      if (isLockError(err)) return false;
      unavailable(err);
    }
  }

  async counts(queue: string): Promise<QueueCounts> {
    try {
      const c = await bounded(this.#handle(queue).queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active'));
      return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), delayed: c.delayed ?? 0, active: c.active ?? 0 };
    } catch (err) {
      unavailable(err);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const handles = [...this.#queues.values()];
    this.#queues.clear();
    await Promise.all(handles.map(async (h) => {
      await h.worker.close(true).catch(() => undefined);
      await h.queue.close().catch(() => undefined);
    }));
    this.#connection.disconnect();
  }
}

/** BullMQ's answers for a job whose lock is held by someone else or gone (codes -2 / -6 of its scripts). */
function isLockError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /lock|not in the active state|Missing key for job/i.test(msg);
}
