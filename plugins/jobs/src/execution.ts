import type { InstanceRef, JobDoc } from '@cozy-ts/kernel';
import type { Broker, Lease } from './broker/types.ts';
import type { JobMessage } from './jobs-service.ts';
import type { JobStore } from './job-store.ts';
import type { ResolvedWorker } from './workers.ts';

export interface Started {
  inst: InstanceRef;
  job: JobDoc;
  maxExecCount: number;
  timeoutMs: number;
}

const now = () => new Date().toISOString();

/**
 * The life of one try, shared by in-process and external workers: the broker holds the lease, the job document
 * says what happened. Documents follow the broker, never the other way round: a try whose lease was lost
 * changes nothing.
 */
export class Execution {
  constructor(
    private readonly broker: Broker,
    private readonly jobs: JobStore,
  ) {}

  /** Marks the job running; null (the lease settled) when the job is gone or has used up its tries. */
  async begin(lease: Lease<JobMessage>, w: ResolvedWorker): Promise<Started | null> {
    const { domain, prefix, id } = lease.payload;
    const inst = { domain, prefix };
    const doc = await this.jobs.tryGet(inst, id).catch(() => null);
    if (!doc) {
      // Purged, or its instance destroyed: nothing left to run.
      await this.broker.complete(lease.queue, lease.id, lease.token);
      return null;
    }
    const maxExecCount = doc.options?.max_exec_count ?? w.maxExecCount;
    if (lease.attempt > maxExecCount) {
      // Earlier tries lost their lease (their process died): that counts as a failed try.
      if ((await this.broker.fail(lease.queue, lease.id, lease.token, { error: 'lease lost', final: true })) === 'failed') {
        await this.jobs.update(inst, id, (d) => ({ state: 'errored', error: d.error || 'The worker stopped before finishing the job', finished_at: now() }));
      }
      return null;
    }
    const job = await this.jobs.update(inst, id, (d) => ({ state: 'running', started_at: d.started_at ?? now(), try_started_at: now(), exec_count: lease.attempt }), doc);
    if (!job) {
      await this.broker.complete(lease.queue, lease.id, lease.token);
      return null;
    }
    return { inst, job, maxExecCount, timeoutMs: (doc.options?.timeout ?? w.timeout) * 1000 };
  }

  async succeed(lease: { queue: string; id: string; token: string }, inst: InstanceRef, known?: JobDoc): Promise<boolean> {
    if (!(await this.broker.complete(lease.queue, lease.id, lease.token))) return false;
    await this.jobs.update(inst, lease.id, () => ({ state: 'done', error: '', finished_at: now() }), known);
    return true;
  }

  /** A failed try: retried with backoff while tries remain, else the job ends errored. */
  async failTry(
    lease: { queue: string; id: string; token: string; attempt: number },
    inst: InstanceRef,
    w: ResolvedWorker,
    maxExecCount: number,
    error: string,
    known?: JobDoc,
  ): Promise<'retry' | 'failed' | 'lost'> {
    const final = lease.attempt >= maxExecCount;
    const retryDelayMs = w.backoffMs * 2 ** Math.max(0, lease.attempt - 1);
    const outcome = await this.broker.fail(lease.queue, lease.id, lease.token, { error, final, retryDelayMs });
    if (outcome === 'retry') await this.jobs.update(inst, lease.id, () => ({ state: 'queued', error }), known);
    if (outcome === 'failed') await this.jobs.update(inst, lease.id, () => ({ state: 'errored', error, finished_at: now() }), known);
    return outcome;
  }
}
