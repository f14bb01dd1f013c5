import { createHash } from 'node:crypto';
import type { ClusterPorts, DocEvent, DocumentStore, InstanceRef, InstanceService, JobDoc } from '@cozy-ts/kernel';
import type { Logger } from 'pino';
import type { Lease } from '../broker/types.ts';
import type { JobsConfig } from '../config.ts';
import { JobsErrors } from '../errors.ts';
import { checkOptions, type JobsServiceImpl } from '../jobs-service.ts';
import { JOBS_DOCTYPE, newId, TRIGGERS_DOCTYPE } from '../job-store.ts';
import { TRIGGER_QUEUE } from '../workers.ts';
import { debounceMs, scheduleOf, type EventRule, type TriggerDoc } from './trigger-types.ts';

/** A scheduled firing of a time trigger, as the trigger queue carries it. */
interface Firing {
  domain: string;
  prefix: string;
  id: string;
  at: number;
  /** Hash of type and arguments when it was scheduled: a PATCHed schedule makes older firings stale. */
  sig: string;
}

export interface TriggerInput {
  type?: unknown;
  arguments?: unknown;
  worker?: unknown;
  message?: unknown;
  worker_arguments?: unknown;
  debounce?: unknown;
  options?: unknown;
}

export interface TriggerState {
  trigger_id: string;
  status: string;
  last_success?: string;
  last_successful_job_id?: string;
  last_execution?: string;
  last_executed_job_id?: string;
  last_failure?: string;
  last_failed_job_id?: string;
  last_error?: string;
  last_manual_execution?: string;
  last_manual_job_id?: string;
}

interface EventTrigger {
  doc: TriggerDoc;
  rules: EventRule[];
  debounce: number;
}

const EVENT_CACHE_MS = 60_000;
const MAX_CATCH_UP_MS = 60_000;
const INVALIDATE_CHANNEL = 'jobs:event-triggers';
const isNotFound = (err: unknown) => (err as { status?: number }).status === 404;

function sigOf(t: TriggerDoc): string {
  return createHash('sha256').update(`${t.type}\n${t.arguments}`).digest('hex').slice(0, 16);
}

function firingId(f: Omit<Firing, 'prefix'>): string {
  // A letter first: BullMQ refuses ids that look like integers.
  return `f${createHash('sha256').update(`${f.domain}\n${f.id}\n${f.at}\n${f.sig}`).digest('hex').slice(0, 40)}`;
}

function selected(doc: Record<string, unknown> | undefined, selector: string): string[] {
  const v = doc?.[selector];
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' || typeof x === 'number').map(String);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  return [];
}

function matches(rule: EventRule, e: DocEvent): boolean {
  if (rule.doctype !== e.doctype) return false;
  if (rule.verbs.length > 0 && !rule.verbs.includes(e.verb)) return false;
  const doc = e.verb === 'DELETED' ? e.old : e.doc;
  if (rule.values.length > 0 && !selected(doc, rule.selector).some((v) => rule.values.includes(v))) return false;
  if (rule.changed) {
    if (e.verb !== 'UPDATED' || !e.old) return false;
    return JSON.stringify(e.old[rule.selector]) !== JSON.stringify(e.doc[rule.selector]);
  }
  return true;
}

/**
 * Triggers: their documents, the time schedule (each firing is a message of the trigger queue with an id
 * derived from trigger, time and schedule, so however many processes schedule it, it is queued once), @event
 * triggers fed by the doc-event bus of the process that made the write, and webhooks.
 */
export class TriggerService {
  readonly #eventCache = new Map<string, { until: number; triggers: Promise<EventTrigger[]> }>();
  #unsubscribe?: () => Promise<void>;

  constructor(
    private readonly store: DocumentStore,
    private readonly jobs: JobsServiceImpl,
    private readonly cluster: ClusterPorts,
    private readonly instances: InstanceService,
    private readonly config: JobsConfig,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.#unsubscribe = await this.cluster.pubsub.subscribe(INVALIDATE_CHANNEL, (domain) => this.#eventCache.delete(domain));
  }

  async stop(): Promise<void> {
    const off = this.#unsubscribe;
    this.#unsubscribe = undefined;
    await off?.();
  }

  #check(t: TriggerDoc): void {
    const w = this.jobs.registry.get(t.worker);
    scheduleOf(t, this.config.minIntervalMs);
    debounceMs(t, this.config.minIntervalMs);
    const options = checkOptions(t.options, w);
    t.options = Object.keys(options).length > 0 ? { ...options } : null;
  }

  async create(inst: InstanceRef, input: TriggerInput): Promise<TriggerDoc> {
    if (typeof input.type !== 'string') throw JobsErrors.badTrigger('type is required', { source: { pointer: '/data/attributes/type' } });
    // cozy-stack forces the worker of a @client trigger.
    if (input.type === '@client') input = { ...input, worker: 'client' };
    if (typeof input.worker !== 'string') throw JobsErrors.badTrigger('worker is required', { source: { pointer: '/data/attributes/worker' } });
    if (input.arguments !== undefined && input.arguments !== null && typeof input.arguments !== 'string') {
      throw JobsErrors.badTrigger('arguments must be a string', { source: { pointer: '/data/attributes/arguments' } });
    }
    if (input.debounce !== undefined && input.debounce !== null && typeof input.debounce !== 'string') {
      throw JobsErrors.badTrigger('debounce must be a duration string', { source: { pointer: '/data/attributes/debounce' } });
    }
    const now = new Date().toISOString();
    const doc: TriggerDoc = {
      _id: newId(),
      domain: inst.domain,
      type: input.type as string,
      worker: input.worker as string,
      arguments: (input.arguments as string | undefined) ?? '',
      debounce: (input.debounce as string | undefined) ?? '',
      options: (input.options as Record<string, unknown> | undefined) ?? null,
      message: input.message !== undefined ? input.message : (input.worker_arguments ?? null),
      cozyMetadata: { doctypeVersion: '1', metadataVersion: 1, createdAt: now, updatedAt: now },
    };
    this.#check(doc);
    const res = await this.store.put(inst, TRIGGERS_DOCTYPE, doc, { old: null });
    const saved = { ...doc, _rev: res.rev };
    await this.#afterChange(inst, saved);
    return saved;
  }

  async get(inst: InstanceRef, id: string): Promise<TriggerDoc> {
    try {
      return (await this.store.get(inst, TRIGGERS_DOCTYPE, id)) as TriggerDoc;
    } catch (err) {
      if (isNotFound(err)) throw JobsErrors.triggerNotFound();
      throw err;
    }
  }

  async list(inst: InstanceRef, filter: { workers?: string[]; types?: string[] } = {}): Promise<TriggerDoc[]> {
    let rows;
    try {
      rows = (await this.store.allDocs(inst, TRIGGERS_DOCTYPE, { include_docs: true })).rows;
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return rows
      .map((r) => r.doc as TriggerDoc | null | undefined)
      .filter((d): d is TriggerDoc => !!d && !d._id.startsWith('_design/'))
      .filter((d) => !filter.workers || filter.workers.includes(d.worker))
      .filter((d) => !filter.types || filter.types.includes(d.type));
  }

  /** cozy-stack's PATCH: a new @cron schedule and/or a new message. */
  async patch(inst: InstanceRef, id: string, input: TriggerInput): Promise<TriggerDoc> {
    const old = await this.get(inst, id);
    const next: TriggerDoc = { ...old };
    if (input.type !== undefined || input.arguments !== undefined) {
      if (old.type !== '@cron' || (input.type !== undefined && input.type !== '@cron')) {
        throw JobsErrors.badTrigger('Only the arguments of a @cron trigger can be changed', { source: { pointer: '/data/attributes/type' } });
      }
      if (typeof input.arguments !== 'string') throw JobsErrors.badTrigger('arguments must be a string');
      next.arguments = input.arguments;
    }
    if (input.message !== undefined) next.message = input.message;
    next.cozyMetadata = { ...(old.cozyMetadata ?? { createdAt: new Date().toISOString() }), updatedAt: new Date().toISOString() };
    this.#check(next);
    const res = await this.store.put(inst, TRIGGERS_DOCTYPE, next, { old });
    const saved = { ...next, _rev: res.rev };
    await this.#afterChange(inst, saved);
    return saved;
  }

  async delete(inst: InstanceRef, id: string): Promise<void> {
    const old = await this.get(inst, id);
    await this.store.delete(inst, TRIGGERS_DOCTYPE, id, old._rev as string, { old });
    if (old.type === '@event') await this.#invalidate(inst.domain);
  }

  async #afterChange(inst: InstanceRef, t: TriggerDoc): Promise<void> {
    if (t.type === '@event') await this.#invalidate(inst.domain);
    else if (t.type !== '@webhook' && t.type !== '@client') await this.scheduleNext(inst, t, Date.now());
  }

  async #invalidate(domain: string): Promise<void> {
    this.#eventCache.delete(domain);
    await this.cluster.pubsub.publish(INVALIDATE_CHANNEL, domain).catch(() => undefined);
  }

  /** Queues the next firing of a time trigger after `after` (idempotent: same trigger, time and schedule = same message). */
  async scheduleNext(inst: InstanceRef, t: TriggerDoc, after: number): Promise<void> {
    const schedule = scheduleOf(t, this.config.minIntervalMs);
    if (schedule.kind !== 'time') return;
    const at = schedule.next(after);
    if (at === null) return;
    const firing: Firing = { domain: inst.domain, prefix: inst.prefix, id: t._id, at, sig: sigOf(t) };
    await this.jobs.broker.enqueue(TRIGGER_QUEUE, firing, { id: firingId(firing), delayMs: Math.max(0, at - Date.now()) });
  }

  /** Handles one firing from the trigger queue. */
  async fire(lease: Lease<Firing>): Promise<void> {
    const f = lease.payload;
    const inst = { domain: f.domain, prefix: f.prefix };
    let t: TriggerDoc | null = null;
    try {
      t = await this.get(inst, f.id);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!t || sigOf(t) !== f.sig) {
      // Deleted, or rescheduled by a PATCH: the newer firing is already queued.
      await this.jobs.broker.complete(lease.queue, lease.id, lease.token);
      return;
    }
    const schedule = scheduleOf(t, this.config.minIntervalMs);
    // Schedule the next one before running this one: a crash in between then loses nothing. The next slot follows
    // this one even when it is already due (a busy server catches up), unless the server was down for a while:
    // then the missed slots are skipped rather than fired in a burst.
    if (schedule.kind === 'time' && !schedule.once) {
      const behind = Date.now() - (schedule.next(f.at) ?? Date.now());
      await this.scheduleNext(inst, t, behind > MAX_CATCH_UP_MS ? Date.now() : f.at);
    }
    if (!(await this.jobs.broker.complete(lease.queue, lease.id, lease.token))) return;
    await this.jobs.push(inst, { worker: t.worker, message: t.message, options: t.options ?? undefined, extra: { trigger_id: t._id, scheduled_at: new Date(f.at).toISOString() } });
    if (schedule.kind === 'time' && schedule.once) {
      await this.store.delete(inst, TRIGGERS_DOCTYPE, t._id, t._rev as string, { old: t }).catch(() => undefined);
    }
  }

  /** Every time trigger of every instance: after a start, so a memory broker's schedule is rebuilt (a Redis one is deduplicated). */
  async rescheduleAll(): Promise<number> {
    let n = 0;
    for (const doc of await this.instances.list()) {
      const inst = { domain: doc.domain, prefix: doc.prefix };
      try {
        for (const t of await this.list(inst)) {
          if (t.type === '@event' || t.type === '@webhook' || t.type === '@client') continue;
          try {
            await this.scheduleNext(inst, t, Date.now());
            n++;
          } catch (err) {
            this.log.warn({ err, domain: inst.domain, trigger: t._id }, 'cannot schedule trigger');
          }
        }
      } catch (err) {
        this.log.warn({ err, domain: inst.domain }, 'cannot list triggers');
      }
    }
    return n;
  }

  launch(inst: InstanceRef, t: TriggerDoc): Promise<JobDoc> {
    return this.jobs.push(inst, { worker: t.worker, message: t.message, options: t.options ?? undefined, manual: true, extra: { trigger_id: t._id } });
  }

  async webhook(inst: InstanceRef, id: string, payload: unknown, manual: boolean): Promise<void> {
    const hits = await this.cluster.cache.increment(`jobs:webhook:${inst.domain}`, this.config.webhook.windowMs);
    if (hits > this.config.webhook.max) throw JobsErrors.rateLimited('Too many webhook calls for this instance', { headers: { 'retry-after': String(Math.ceil(this.config.webhook.windowMs / 1000)) } });
    const t = await this.get(inst, id);
    if (t.type !== '@webhook') throw JobsErrors.notWebhook();
    await this.jobs.push(inst, { worker: t.worker, message: t.message, options: t.options ?? undefined, manual, extra: { trigger_id: t._id, payload } });
  }

  /** The last jobs of the trigger, newest first. */
  triggerJobs(inst: InstanceRef, id: string, limit: number): Promise<JobDoc[]> {
    return this.jobs.jobs.find(inst, { trigger_id: id }, limit, 'trigger_id');
  }

  async state(inst: InstanceRef, id: string): Promise<TriggerState> {
    const jobs = await this.triggerJobs(inst, id, 100);
    const s: TriggerState = { trigger_id: id, status: jobs[0]?.state ?? 'done' };
    const last = jobs[0];
    if (last) {
      s.last_execution = last.started_at ?? last.queued_at;
      s.last_executed_job_id = last._id;
    }
    const ok = jobs.find((j) => j.state === 'done');
    if (ok) {
      s.last_success = ok.finished_at ?? ok.queued_at;
      s.last_successful_job_id = ok._id;
    }
    const ko = jobs.find((j) => j.state === 'errored');
    if (ko) {
      s.last_failure = ko.finished_at ?? ko.queued_at;
      s.last_failed_job_id = ko._id;
      s.last_error = ko.error;
    }
    const manual = jobs.find((j) => j.manual_execution);
    if (manual) {
      s.last_manual_execution = manual.queued_at;
      s.last_manual_job_id = manual._id;
    }
    return s;
  }

  #eventTriggers(inst: InstanceRef): Promise<EventTrigger[]> {
    const hit = this.#eventCache.get(inst.domain);
    if (hit && hit.until > Date.now()) return hit.triggers;
    const triggers = this.list(inst, { types: ['@event'] }).then((docs) =>
      docs.flatMap((doc) => {
        try {
          const s = scheduleOf(doc, this.config.minIntervalMs);
          return s.kind === 'event' ? [{ doc, rules: s.rules, debounce: debounceMs(doc, this.config.minIntervalMs) }] : [];
        } catch {
          return [];
        }
      }),
    );
    triggers.catch(() => this.#eventCache.delete(inst.domain));
    if (this.#eventCache.size > 10_000) this.#eventCache.clear();
    this.#eventCache.set(inst.domain, { until: Date.now() + EVENT_CACHE_MS, triggers });
    return triggers;
  }

  /** A doc event of this process: the @event triggers it matches queue their job (here only: once cluster-wide). */
  async onDocEvent(e: DocEvent): Promise<void> {
    if (e.doctype === TRIGGERS_DOCTYPE) {
      if (e.doc.type === '@event' || e.old?.type === '@event' || e.verb === 'DELETED') await this.#invalidate(e.domain);
      return;
    }
    // Job documents change on every step of every job: triggering on them would feed back into itself.
    if (e.doctype === JOBS_DOCTYPE) return;
    const doc = await this.instances.find(e.domain);
    if (!doc) return;
    const inst = { domain: doc.domain, prefix: doc.prefix };
    for (const t of await this.#eventTriggers(inst)) {
      if (!t.rules.some((r) => matches(r, e))) continue;
      try {
        if (t.debounce > 0) {
          const first = await this.cluster.cache.setIfAbsent(`jobs:debounce:${inst.domain}:${t.doc._id}`, 1, t.debounce);
          if (first) await this.jobs.pushDelayed(inst, { worker: t.doc.worker, message: t.doc.message, options: t.doc.options ?? undefined, extra: { trigger_id: t.doc._id } }, t.debounce);
        } else {
          const event = { domain: e.domain, verb: e.verb, doc: e.doc, ...(e.old ? { old: e.old } : {}) };
          await this.jobs.push(inst, { worker: t.doc.worker, message: t.doc.message, options: t.doc.options ?? undefined, extra: { trigger_id: t.doc._id, event } });
        }
      } catch (err) {
        this.log.warn({ err, trigger: t.doc._id }, 'event trigger failed to queue its job');
      }
    }
  }
}
