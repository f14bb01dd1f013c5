import { timingSafeEqual } from 'node:crypto';
import type { JobDoc } from '@cozy-ts/kernel';
import type { Broker, Lease } from './broker/types.ts';
import { JobsErrors } from './errors.ts';
import type { Execution } from './execution.ts';
import type { JobMessage } from './jobs-service.ts';
import type { JobStore } from './job-store.ts';
import { queueOf, type WorkerRegistry } from './workers.ts';

/** What an external worker gets for a claimed job (see README, "External workers"). */
export interface ClaimedJob {
  id: string;
  domain: string;
  worker: string;
  message: unknown;
  payload?: unknown;
  event?: unknown;
  attempt: number;
  max_exec_count: number;
  timeout: number;
  lease: { token: string; expires_at: string; duration_ms: number };
}

export const MAX_CLAIM_WAIT_MS = 30_000;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The server side of the external worker protocol. A lease token names one try of one job; the domain comes
 * back with every call so the job document can be found without keeping anything in this process.
 */
export class ExternalWorkers {
  constructor(
    private readonly broker: Broker,
    private readonly registry: WorkerRegistry,
    private readonly jobs: JobStore,
    private readonly execution: Execution,
    private readonly token: string | undefined,
  ) {}

  authenticate(header: string | undefined): void {
    const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!this.token || !given || !sameSecret(given, this.token)) throw JobsErrors.workerUnauthorized();
  }

  #worker(type: string) {
    const w = this.registry.get(type);
    if (!w.external) throw JobsErrors.notExternal();
    return w;
  }

  async claim(type: string, waitMs: number): Promise<ClaimedJob | null> {
    const w = this.#worker(type);
    const deadline = Date.now() + Math.min(Math.max(0, waitMs), MAX_CLAIM_WAIT_MS);
    for (;;) {
      const lease = await this.broker.claim<JobMessage>(queueOf(type), { waitMs: Math.max(0, deadline - Date.now()) });
      if (!lease) return null;
      const started = await this.execution.begin(lease, w);
      if (started) return this.#describe(lease, started.job, started.maxExecCount, started.timeoutMs);
      if (Date.now() >= deadline) return null;
    }
  }

  #describe(lease: Lease<JobMessage>, job: JobDoc, maxExecCount: number, timeoutMs: number): ClaimedJob {
    return {
      id: job._id,
      domain: job.domain,
      worker: job.worker,
      message: job.message,
      ...(job.payload !== undefined ? { payload: job.payload } : {}),
      ...(job.event !== undefined ? { event: job.event } : {}),
      attempt: lease.attempt,
      max_exec_count: maxExecCount,
      timeout: Math.round(timeoutMs / 1000),
      lease: { token: lease.token, expires_at: new Date(lease.expiresAt).toISOString(), duration_ms: this.broker.leaseMs },
    };
  }

  /** The running job a lease token claims to hold, checked against its document. */
  async #held(type: string, id: string, domain: unknown): Promise<{ job: JobDoc; inst: { domain: string; prefix: string } }> {
    this.#worker(type);
    if (typeof domain !== 'string' || !domain) throw JobsErrors.badRequest('domain is required');
    const { prefix } = await this.#prefixOf(domain);
    const inst = { domain, prefix };
    const job = await this.jobs.tryGet(inst, id);
    if (!job || job.worker !== type) throw JobsErrors.jobNotFound();
    return { job, inst };
  }

  #prefixOf: (domain: string) => Promise<{ prefix: string }> = async () => {
    throw new Error('not wired');
  };

  useInstances(find: (domain: string) => Promise<{ prefix: string } | null>): void {
    this.#prefixOf = async (domain) => {
      const inst = await find(domain);
      if (!inst) throw JobsErrors.jobNotFound();
      return inst;
    };
  }

  async heartbeat(type: string, id: string, token: string, domain: unknown): Promise<string> {
    const { job } = await this.#held(type, id, domain);
    const timeoutMs = (job.options?.timeout ?? this.registry.get(type).timeout) * 1000;
    const startedAt = Date.parse(String(job.try_started_at ?? job.started_at ?? ''));
    if (Number.isFinite(startedAt) && Date.now() - startedAt > timeoutMs) {
      // Past its timeout: the heartbeat is refused, so the lease lapses and the try counts as failed.
      throw JobsErrors.leaseLost('The job is past its timeout');
    }
    const until = await this.broker.extend(queueOf(type), id, token);
    if (until === null) throw JobsErrors.leaseLost();
    return new Date(until).toISOString();
  }

  async finish(type: string, id: string, token: string, domain: unknown): Promise<void> {
    const { inst, job } = await this.#held(type, id, domain);
    if (!(await this.execution.succeed({ queue: queueOf(type), id, token }, inst, job))) throw JobsErrors.leaseLost();
  }

  async fail(type: string, id: string, token: string, domain: unknown, error: string, attempt: number): Promise<'retry' | 'failed'> {
    const { inst, job } = await this.#held(type, id, domain);
    const w = this.registry.get(type);
    const maxExecCount = job.options?.max_exec_count ?? w.maxExecCount;
    const outcome = await this.execution.failTry({ queue: queueOf(type), id, token, attempt: job.exec_count ?? attempt }, inst, w, maxExecCount, error, job);
    if (outcome === 'lost') throw JobsErrors.leaseLost();
    return outcome;
  }
}
