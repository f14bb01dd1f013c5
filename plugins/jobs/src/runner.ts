import type { Logger } from 'pino';
import type { Broker, Lease } from './broker/types.ts';
import type { Execution } from './execution.ts';
import type { JobMessage } from './jobs-service.ts';
import { queueOf, type ResolvedWorker } from './workers.ts';

const CLAIM_WAIT_MS = 1_000;

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Job timed out after ${Math.round(ms / 1000)} s`);
  }
}

/**
 * Runs the in-process workers: per worker type, `concurrency` loops that claim, run under a timeout while
 * renewing the lease, and settle. A worker that throws, hangs or rejects never takes a loop down.
 */
export class Runner {
  readonly #loops: Promise<void>[] = [];
  readonly #running = new Set<AbortController>();
  #stopping = false;

  constructor(
    private readonly broker: Broker,
    private readonly execution: Execution,
    private readonly log: Logger,
  ) {}

  /** Starts consuming `queue` with `handle`; used for worker queues and the trigger queue alike. */
  loop(queue: string, concurrency: number, handle: (lease: Lease<never>) => Promise<void>): void {
    for (let i = 0; i < concurrency; i++) {
      this.#loops.push(
        (async () => {
          while (!this.#stopping) {
            try {
              const lease = await this.broker.claim<never>(queue, { waitMs: CLAIM_WAIT_MS });
              if (!lease) continue;
              await handle(lease);
            } catch (err) {
              if (this.#stopping) return;
              this.log.error({ err, queue }, 'job loop error');
              // A broker outage must not spin the loop.
              await new Promise((r) => setTimeout(r, 1_000));
            }
          }
        })(),
      );
    }
  }

  start(workers: ResolvedWorker[]): void {
    for (const w of workers) {
      if (w.external || w.client || !w.run) continue;
      this.loop(queueOf(w.type), w.concurrency, (lease) => this.#runOne(lease as Lease<JobMessage>, w));
    }
  }

  async #runOne(lease: Lease<JobMessage>, w: ResolvedWorker): Promise<void> {
    const started = await this.execution.begin(lease, w);
    if (!started) return;
    const { inst, job, maxExecCount, timeoutMs } = started;
    const abort = new AbortController();
    this.#running.add(abort);
    let lost = false;
    const heartbeat = setInterval(() => {
      void this.broker.extend(lease.queue, lease.id, lease.token).then(
        (until) => {
          if (until === null && !lost) {
            lost = true;
            abort.abort(new Error('lease lost'));
          }
        },
        () => undefined,
      );
    }, Math.max(50, Math.floor(this.broker.leaseMs / 3)));
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new TimeoutError(timeoutMs);
          abort.abort(err);
          reject(err);
        }, timeoutMs);
      });
      // A run that rejects after the timeout won must not become an unhandled rejection.
      const run = Promise.resolve().then(() => w.run!({ instance: inst, job, attempt: lease.attempt, signal: abort.signal }));
      run.catch(() => undefined);
      const aborted = new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }));
      aborted.catch(() => undefined);
      await Promise.race([run, timeout, aborted]);
      clearInterval(heartbeat);
      if (!lost) await this.execution.succeed(lease, inst, job);
    } catch (err) {
      clearInterval(heartbeat);
      // A try aborted by a stopping server is left to its lease: it lapses and the job is handed out again.
      if (!lost && !this.#stopping) {
        const outcome = await this.execution.failTry(lease, inst, w, maxExecCount, errorText(err), job);
        this.log.warn({ worker: w.type, job: lease.id, attempt: lease.attempt, outcome, err: errorText(err) }, 'job try failed');
      }
    } finally {
      clearInterval(heartbeat);
      clearTimeout(timer);
      this.#running.delete(abort);
    }
  }

  /** Aborts running tries: their leases lapse and the broker hands them out again (to another process, or after a restart). */
  stop(): void {
    this.#stopping = true;
    for (const a of this.#running) a.abort(new Error('server stopping'));
  }

  /** Waits for the loops to end, once the broker is closed (which ends their pending claims). */
  async drained(): Promise<void> {
    await Promise.race([Promise.allSettled(this.#loops), new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}
