import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JSONAPI_CONTENT_TYPE, acceptJsonApi, instanceOf, readResource, toResource, type AuthService, type JobDoc } from '@cozy-ts/kernel';
import { JobsErrors } from './errors.ts';
import type { ExternalWorkers } from './external.ts';
import { JOBS_DOCTYPE, TRIGGERS_DOCTYPE } from './job-store.ts';
import type { JobsServiceImpl } from './jobs-service.ts';
import { parseBigDuration } from './triggers/durations.ts';
import type { TriggerService } from './triggers/trigger-service.ts';
import type { TriggerDoc } from './triggers/trigger-types.ts';

export interface JobsRouteDeps {
  auth: AuthService;
  jobs: JobsServiceImpl;
  triggers: TriggerService;
  external: ExternalWorkers;
}

const STUCK_MS = 3_600_000;
const DEFAULT_KEEP = '2W';

const jobResource = (j: JobDoc) => toResource(JOBS_DOCTYPE, j, { self: `/jobs/${j._id}` });

function triggerResource(req: FastifyRequest, t: TriggerDoc, extra: Record<string, unknown> = {}) {
  const links: Record<string, string> = { self: `/jobs/triggers/${t._id}` };
  if (t.type === '@webhook') links.webhook = `${req.protocol}://${req.headers.host}/jobs/webhooks/${t._id}`;
  const res = toResource(TRIGGERS_DOCTYPE, { ...t, ...extra }, links);
  return res;
}

function send(reply: FastifyReply, status: number, body: unknown) {
  return reply.code(status).type(JSONAPI_CONTENT_TYPE).send(body);
}

function commaList(v: unknown): string[] | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Mounted at /jobs: cozy-stack's jobs and triggers API, webhooks, and the external worker protocol. */
export async function jobsRoutes(app: FastifyInstance, deps: JobsRouteDeps): Promise<void> {
  const { auth, jobs } = deps;
  acceptJsonApi(app);

  app.post<{ Params: { worker: string } }>('/queue/:worker', async (req, reply) => {
    const inst = instanceOf(req);
    const worker = req.params.worker;
    const who = await auth.allow(req, 'POST', JOBS_DOCTYPE, { worker });
    const attrs = readResource(req.body ?? { data: {} }).attributes;
    const w = jobs.registry.get(worker);
    if (who.kind !== 'cli') {
      if (w.reserved) throw JobsErrors.reservedWorker();
      if (attrs.forward_logs) throw JobsErrors.reservedWorker('forward_logs is reserved to the CLI');
    }
    const job = await jobs.push(inst, {
      worker,
      message: attrs.arguments,
      options: attrs.options as JobDoc['options'] | undefined,
      manual: attrs.manual === true,
    });
    return send(reply, 202, { data: jobResource(job) });
  });

  app.get<{ Params: { worker: string } }>('/queue/:worker', async (req, reply) => {
    const inst = instanceOf(req);
    const worker = req.params.worker;
    await auth.allow(req, 'GET', JOBS_DOCTYPE, { worker });
    jobs.registry.get(worker);
    const list = await jobs.jobs.find(inst, { worker, state: 'queued' }, 1_000, 'worker');
    return send(reply, 200, { data: list.map(jobResource), meta: { count: list.length } });
  });

  app.delete<{ Querystring: { duration?: string; workers?: string } }>('/purge', async (req, reply) => {
    const inst = instanceOf(req);
    await auth.allowWholeType(req, 'DELETE', JOBS_DOCTYPE);
    const keep = parseBigDuration(req.query.duration ?? DEFAULT_KEEP);
    if (keep === null) throw JobsErrors.badRequest('duration must be a number and a unit among s m h D W M Y, e.g. 2W');
    const workers = commaList(req.query.workers);
    const before = Date.now() - keep;
    const old: JobDoc[] = [];
    for await (const j of jobs.jobs.all(inst)) {
      if (j.state !== 'done' && j.state !== 'errored') continue;
      if (workers && !workers.includes(j.worker)) continue;
      if (Date.parse(j.finished_at ?? j.queued_at) < before) old.push(j);
    }
    return reply.code(200).send({ deleted: await jobs.jobs.bulkDelete(inst, old) });
  });

  app.post('/clean', async (req, reply) => {
    const inst = instanceOf(req);
    await auth.allowWholeType(req, 'POST', JOBS_DOCTYPE);
    const stuck: string[] = [];
    for await (const j of jobs.jobs.all(inst)) {
      if ((j.state === 'running' || j.state === 'queued') && Date.parse(j.started_at ?? j.queued_at) + STUCK_MS < Date.now()) stuck.push(j._id);
    }
    // cozy-stack marks them done, so that a trigger whose job was lost with its process can be launched again.
    for (const id of stuck) await jobs.jobs.update(inst, id, () => ({ state: 'done', finished_at: new Date().toISOString() }));
    return reply.code(200).send({ deleted: stuck.length });
  });

  app.post('/triggers', async (req, reply) => {
    const inst = instanceOf(req);
    const attrs = readResource(req.body).attributes;
    if (typeof attrs.worker !== 'string') throw JobsErrors.badTrigger('worker is required', { source: { pointer: '/data/attributes/worker' } });
    await auth.allow(req, 'POST', TRIGGERS_DOCTYPE, { worker: attrs.worker });
    const t = await deps.triggers.create(inst, attrs);
    return send(reply, 201, { data: triggerResource(req, t) });
  });

  app.get<{ Querystring: { Worker?: string; Type?: string } }>('/triggers', async (req, reply) => {
    const inst = instanceOf(req);
    const workers = commaList(req.query.Worker);
    const types = commaList(req.query.Type);
    const who = await auth.authenticate(req);
    if (!who.permissions.allowWholeType('GET', TRIGGERS_DOCTYPE)) {
      // Without the whole doctype, only the triggers of workers the caller holds a rule for.
      if (!workers || !workers.every((worker) => who.permissions.allow('GET', TRIGGERS_DOCTYPE, { worker }))) await auth.allowWholeType(req, 'GET', TRIGGERS_DOCTYPE);
    }
    const list = await deps.triggers.list(inst, { workers, types });
    const data = await Promise.all(list.map(async (t) => triggerResource(req, t, { current_state: await deps.triggers.state(inst, t._id) })));
    return send(reply, 200, { data, meta: { count: data.length } });
  });

  const loadTrigger = async (req: FastifyRequest<{ Params: { id: string } }>, verb: 'GET' | 'POST' | 'PATCH' | 'DELETE') => {
    const inst = instanceOf(req);
    const t = await deps.triggers.get(inst, req.params.id);
    await auth.allow(req, verb, TRIGGERS_DOCTYPE, t);
    return { inst, t };
  };

  app.get<{ Params: { id: string } }>('/triggers/:id', async (req, reply) => {
    const { inst, t } = await loadTrigger(req, 'GET');
    return send(reply, 200, { data: triggerResource(req, t, { current_state: await deps.triggers.state(inst, t._id) }) });
  });

  app.get<{ Params: { id: string } }>('/triggers/:id/state', async (req, reply) => {
    const { inst, t } = await loadTrigger(req, 'GET');
    const { trigger_id, ...state } = await deps.triggers.state(inst, t._id);
    return send(reply, 200, { data: { type: 'io.cozy.triggers.state', id: trigger_id, attributes: state, links: { self: `/jobs/triggers/${t._id}/state` } } });
  });

  app.get<{ Params: { id: string }; Querystring: { Limit?: string } }>('/triggers/:id/jobs', async (req, reply) => {
    const { inst, t } = await loadTrigger(req, 'GET');
    const limit = req.query.Limit === undefined ? 100 : Number(req.query.Limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw JobsErrors.badRequest('Limit must be an integer between 1 and 1000');
    const list = await deps.triggers.triggerJobs(inst, t._id, limit);
    return send(reply, 200, { data: list.map(jobResource), meta: { count: list.length } });
  });

  app.patch<{ Params: { id: string } }>('/triggers/:id', async (req, reply) => {
    const { inst, t } = await loadTrigger(req, 'PATCH');
    const updated = await deps.triggers.patch(inst, t._id, readResource(req.body).attributes);
    return send(reply, 200, { data: triggerResource(req, updated) });
  });

  app.post<{ Params: { id: string } }>('/triggers/:id/launch', async (req, reply) => {
    const { inst, t } = await loadTrigger(req, 'POST');
    return send(reply, 201, { data: jobResource(await deps.triggers.launch(inst, t)) });
  });

  app.delete<{ Params: { id: string } }>('/triggers/:id', async (req, reply) => {
    const { inst, t } = await loadTrigger(req, 'DELETE');
    await deps.triggers.delete(inst, t._id);
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string }; Querystring: { Manual?: string } }>('/webhooks/:id', async (req, reply) => {
    await deps.triggers.webhook(instanceOf(req), req.params.id, req.body ?? null, req.query.Manual === 'true');
    return reply.code(204).send();
  });

  app.patch<{ Params: { id: string } }>('/:id', async (req, reply) => {
    const inst = instanceOf(req);
    const job = await jobs.get(inst, req.params.id);
    await auth.allow(req, 'PATCH', JOBS_DOCTYPE, job);
    if (!jobs.registry.get(job.worker).client) throw JobsErrors.reservedWorker('Only jobs of the client worker can be updated');
    const attrs = readResource(req.body).attributes;
    return send(reply, 200, { data: jobResource(await jobs.settleClientJob(inst, job._id, attrs.state, attrs.error)) });
  });

  app.get<{ Params: { id: string } }>('/:id', async (req, reply) => {
    const job = await jobs.get(instanceOf(req), req.params.id);
    await auth.allow(req, 'GET', JOBS_DOCTYPE, job);
    return send(reply, 200, { data: jobResource(job) });
  });

  // External workers serve every instance: these routes answer for any Host and use their own bearer token.
  const global = { config: { cozy: { instance: false } } };
  type ExtReq = FastifyRequest<{ Params: { worker: string; id: string }; Body: Record<string, unknown> | null; Querystring: { wait?: string } }>;
  const body = (req: ExtReq) => (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
  const token = (req: ExtReq) => {
    const t = body(req).lease_token;
    if (typeof t !== 'string' || !t) throw JobsErrors.badRequest('lease_token is required');
    return t;
  };

  app.post('/external/:worker/claim', global, async (req: ExtReq, reply) => {
    deps.external.authenticate(req.headers.authorization);
    const wait = req.query.wait === undefined ? 0 : Number(req.query.wait);
    if (!Number.isFinite(wait) || wait < 0) throw JobsErrors.badRequest('wait must be a number of seconds');
    const job = await deps.external.claim(req.params.worker, wait * 1000);
    if (!job) return reply.code(204).send();
    return reply.code(200).send({ job });
  });

  app.post('/external/:worker/:id/heartbeat', global, async (req: ExtReq, reply) => {
    deps.external.authenticate(req.headers.authorization);
    const expires = await deps.external.heartbeat(req.params.worker, req.params.id, token(req), body(req).domain);
    return reply.code(200).send({ lease: { expires_at: expires } });
  });

  app.post('/external/:worker/:id/finish', global, async (req: ExtReq, reply) => {
    deps.external.authenticate(req.headers.authorization);
    await deps.external.finish(req.params.worker, req.params.id, token(req), body(req).domain);
    return reply.code(204).send();
  });

  app.post('/external/:worker/:id/fail', global, async (req: ExtReq, reply) => {
    deps.external.authenticate(req.headers.authorization);
    const b = body(req);
    const error = typeof b.error === 'string' && b.error ? b.error.slice(0, 2_000) : 'failed';
    const state = await deps.external.fail(req.params.worker, req.params.id, token(req), b.domain, error, 1);
    return reply.code(200).send({ state: state === 'retry' ? 'queued' : 'errored' });
  });
}


