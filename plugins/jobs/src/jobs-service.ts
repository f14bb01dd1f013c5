import type { InstanceRef, JobDoc, JobOptions, JobRequest, JobsService, WorkerDefinition } from '@cozy-ts/kernel';
import type { Broker } from './broker/types.ts';
import { JobsErrors } from './errors.ts';
import { JobStore, newId } from './job-store.ts';
import { queueOf, type ResolvedWorker, type WorkerRegistry } from './workers.ts';

const MAX_DELAY_MS = 366 * 86_400_000;

/** What the broker carries: the job document is the truth, the message only points at it. */
export interface JobMessage {
  domain: string;
  prefix: string;
  id: string;
}

export function checkOptions(raw: unknown, w: ResolvedWorker): JobOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw JobsErrors.badOptions('options must be an object');
  const o = raw as Record<string, unknown>;
  const out: JobOptions = {};
  if (o.timeout !== undefined && o.timeout !== null && o.timeout !== 0) {
    if (!Number.isInteger(o.timeout) || (o.timeout as number) < 1 || (o.timeout as number) > w.maxTimeout) {
      throw JobsErrors.badOptions(`options.timeout must be a number of seconds between 1 and ${w.maxTimeout}`);
    }
    out.timeout = o.timeout as number;
  }
  if (o.max_exec_count !== undefined && o.max_exec_count !== null && o.max_exec_count !== 0) {
    if (!Number.isInteger(o.max_exec_count) || (o.max_exec_count as number) < 1 || (o.max_exec_count as number) > 100) {
      throw JobsErrors.badOptions('options.max_exec_count must be an integer between 1 and 100');
    }
    out.max_exec_count = o.max_exec_count as number;
  }
  return out;
}

/** The `jobs` capability: registered workers, and queuing with an io.cozy.jobs document per job. */
export class JobsServiceImpl implements JobsService {
  #broker?: Broker;

  constructor(
    readonly registry: WorkerRegistry,
    readonly jobs: JobStore,
  ) {}

  attach(broker: Broker): void {
    this.#broker = broker;
  }

  get broker(): Broker {
    if (!this.#broker) throw JobsErrors.brokerUnavailable('The jobs plugin is not started');
    return this.#broker;
  }

  registerWorker(type: string, def: WorkerDefinition): void {
    if (this.#broker) throw new Error('Workers must be registered before the jobs plugin starts');
    this.registry.register(type, def);
  }

  workerTypes(): string[] {
    return this.registry.types();
  }

  push(inst: InstanceRef, req: JobRequest): Promise<JobDoc> {
    const delay = req.delayMs ?? 0;
    if (!Number.isFinite(delay) || delay < 0 || delay > MAX_DELAY_MS) throw JobsErrors.badOptions('delayMs must be between 0 and a year');
    return this.pushDelayed(inst, req, delay);
  }

  /** Like push, the job becoming runnable `delayMs` later (debounced triggers). */
  async pushDelayed(inst: InstanceRef, req: JobRequest, delayMs: number): Promise<JobDoc> {
    const w = this.registry.get(req.worker);
    const options = checkOptions(req.options, w);
    const doc: JobDoc = {
      _id: newId(),
      domain: inst.domain,
      worker: w.type,
      message: req.message ?? null,
      options,
      state: 'queued',
      queued_at: new Date().toISOString(),
      ...(req.manual ? { manual_execution: true } : {}),
      ...(req.extra?.trigger_id ? { trigger_id: req.extra.trigger_id } : {}),
      ...(req.extra?.event !== undefined ? { event: req.extra.event } : {}),
      ...(req.extra?.payload !== undefined ? { payload: req.extra.payload } : {}),
      ...(req.extra?.scheduled_at ? { scheduled_at: req.extra.scheduled_at } : {}),
    };
    if (w.client) {
      // Nothing runs it here: the client app does, and says how it went with PATCH /jobs/:id.
      return this.jobs.create(inst, { ...doc, state: 'running', started_at: doc.queued_at, exec_count: 1 });
    }
    // Before the document: while the broker is away (Redis down at boot), no errored job is left behind a 503.
    const broker = this.broker;
    const created = await this.jobs.create(inst, doc);
    const message: JobMessage = { domain: inst.domain, prefix: inst.prefix, id: doc._id };
    try {
      await broker.enqueue(queueOf(w.type), message, { id: doc._id, delayMs });
    } catch (err) {
      // The document must not claim a queued job that no broker holds.
      await this.jobs.update(inst, doc._id, () => ({ state: 'errored', error: 'The job broker is unavailable', finished_at: new Date().toISOString() })).catch(() => undefined);
      throw err;
    }
    return created;
  }

  get(inst: InstanceRef, id: string): Promise<JobDoc> {
    return this.jobs.get(inst, id);
  }

  /** The outcome of a `client` job, reported by the client app (cozy-stack's PATCH /jobs/:id). */
  async settleClientJob(inst: InstanceRef, id: string, state: unknown, error: unknown): Promise<JobDoc> {
    if (state !== 'done' && state !== 'errored') throw JobsErrors.badRequest('state must be done or errored', { source: { pointer: '/data/attributes/state' } });
    const updated = await this.jobs.update(inst, id, () => ({
      state,
      error: state === 'errored' ? (typeof error === 'string' ? error.slice(0, 2_000) : 'errored') : '',
      finished_at: new Date().toISOString(),
    }));
    if (!updated) throw JobsErrors.jobNotFound();
    return updated;
  }
}
