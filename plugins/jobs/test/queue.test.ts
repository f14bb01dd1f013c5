import t from 'tap';
import type { WorkerDefinition } from '@cozy-ts/kernel';
import { setup, sleep, sleepUnless } from './helpers.ts';

const ran: Array<{ message: unknown; attempt: number }> = [];
let flaky = 0;
const workers: Record<string, WorkerDefinition> = {
  echo: { async run({ job, attempt }) { ran.push({ message: job.message, attempt }); } },
  flaky: { maxExecCount: 3, async run({ attempt }) { flaky++; if (attempt < 3) throw new Error(`try ${attempt} failed`); } },
  broken: { maxExecCount: 2, async run() { throw new Error('always broken'); } },
  hang: { maxExecCount: 1, timeout: 1, async run() { await new Promise(() => undefined); } },
  crash: { maxExecCount: 1, async run() { throw new TypeError('cannot read properties of undefined'); } },
  secret: { reserved: true, async run() {} },
};

t.test('POST /jobs/queue/:worker queues a job (202) that runs and ends done', async (t) => {
  const s = await setup(t, { workers });
  const res = await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs:POST:echo:worker', { data: { attributes: { arguments: { hello: 'world' }, options: { timeout: 30, max_exec_count: 2 } } } });
  t.equal(res.statusCode, 202, res.body);
  const body = res.json();
  t.equal(body.data.type, 'io.cozy.jobs');
  t.match(body.data.attributes, { domain: 'alice.example', worker: 'echo', state: 'queued', message: { hello: 'world' }, options: { timeout: 30, max_exec_count: 2 } });
  t.equal(body.data.links.self, `/jobs/${body.data.id}`);
  const done = await s.waitJob(body.data.id, (j) => j.state === 'done');
  t.ok(done.started_at && done.finished_at && done.queued_at, 'timestamps');
  t.same(ran.at(-1), { message: { hello: 'world' }, attempt: 1 });
});

t.test('the worker selector restricts who may queue what', async (t) => {
  const s = await setup(t, { workers });
  t.equal((await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs:POST:flaky:worker', { data: { attributes: {} } })).statusCode, 403, 'another worker');
  t.equal((await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs:GET:echo:worker', { data: { attributes: {} } })).statusCode, 403, 'another verb');
  t.equal((await s.call('POST', '/jobs/queue/echo', null, { data: { attributes: {} } })).statusCode, 401, 'no token');
  t.equal((await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: { attributes: {} } })).statusCode, 202, 'whole doctype');
});

t.test('unknown workers are 404, reserved ones 403 except for the CLI', async (t) => {
  const s = await setup(t, { workers });
  const unknown = await s.call('POST', '/jobs/queue/nope', 'io.cozy.jobs', { data: { attributes: {} } });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { errors: [{ status: '404' }] });
  t.equal((await s.call('GET', '/jobs/queue/nope', 'io.cozy.jobs')).statusCode, 404);
  // A CLI token is the CLI; the kernel's token kinds tell it apart from apps.
  t.equal((await s.call('POST', '/jobs/queue/secret', 'io.cozy.jobs', { data: { attributes: {} } })).statusCode, 202, 'CLI may');
  const app = await s.tk.kernel.auth.issueToken(s.inst, 'access', { subject: 'nobody', scope: 'io.cozy.jobs' });
  const res = await s.tk.kernel.app.inject({ method: 'POST', url: '/jobs/queue/secret', headers: { host: s.inst.domain, authorization: `Bearer ${app}`, 'content-type': 'application/json' }, payload: '{"data":{"attributes":{}}}' });
  t.not(res.statusCode, 202, 'an OAuth client may not');
});

t.test('bad options and bodies are 400', async (t) => {
  const s = await setup(t, { workers });
  for (const options of [{ timeout: -1 }, { timeout: 'x' }, { max_exec_count: 1000 }, { max_exec_count: 1.5 }, 'nope']) {
    const res = await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: { attributes: { options } } });
    t.equal(res.statusCode, 400, JSON.stringify(options));
  }
  t.equal((await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', '{not json', { 'content-type': 'application/json' })).statusCode, 400, 'malformed JSON');
  t.equal((await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: 'x' })).statusCode, 400, 'not JSON:API');
});

t.test('a failing try is retried with backoff until it succeeds', async (t) => {
  const s = await setup(t, { workers });
  const res = await s.call('POST', '/jobs/queue/flaky', 'io.cozy.jobs', { data: { attributes: {} } });
  const done = await s.waitJob(res.json().data.id, (j) => j.state === 'done');
  t.equal(done.exec_count, 3, 'third try');
  t.equal(flaky, 3);
});

t.test('a worker that always throws ends errored after max_exec_count tries, and the server stays up', async (t) => {
  const s = await setup(t, { workers });
  const broken = await s.call('POST', '/jobs/queue/broken', 'io.cozy.jobs', { data: { attributes: {} } });
  const crash = await s.call('POST', '/jobs/queue/crash', 'io.cozy.jobs', { data: { attributes: {} } });
  const j1 = await s.waitJob(broken.json().data.id, (j) => j.state === 'errored');
  t.equal(j1.error, 'always broken');
  t.equal(j1.exec_count, 2);
  const j2 = await s.waitJob(crash.json().data.id, (j) => j.state === 'errored');
  t.match(j2.error, /cannot read/);
  const after = await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: { attributes: {} } });
  await s.waitJob(after.json().data.id, (j) => j.state === 'done');
});

t.test('a worker that hangs past its timeout ends errored', async (t) => {
  const s = await setup(t, { workers });
  const res = await s.call('POST', '/jobs/queue/hang', 'io.cozy.jobs', { data: { attributes: {} } });
  const j = await s.waitJob(res.json().data.id, (j) => j.state === 'errored', 8_000);
  t.match(j.error, /timed out/);
  const after = await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: { attributes: {} } });
  await s.waitJob(after.json().data.id, (j) => j.state === 'done');
});

t.test('GET /jobs/queue/:worker lists queued jobs; GET /jobs/:id checks permissions', async (t) => {
  const s = await setup(t, { workers: { ...workers, slow: { async run({ signal }) { await sleepUnless(10_000, signal); } }, idle: { concurrency: 1, async run() {} } } });
  // slow holds its only slot, so the next ones stay queued.
  await s.call('POST', '/jobs/queue/slow', 'io.cozy.jobs', { data: { attributes: {} } });
  await sleep(200);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await s.call('POST', '/jobs/queue/slow', 'io.cozy.jobs', { data: { attributes: { arguments: i } } })).json().data.id);
  const list = await s.call('GET', '/jobs/queue/slow', 'io.cozy.jobs:GET:slow:worker');
  t.equal(list.statusCode, 200);
  t.same(list.json().data.map((d: { id: string }) => d.id).sort(), [...ids].sort());
  t.equal((await s.call('GET', '/jobs/queue/slow', 'io.cozy.jobs:GET:echo:worker')).statusCode, 403);
  t.equal((await s.call('GET', `/jobs/${ids[0]}`, 'io.cozy.jobs:GET:slow:worker')).statusCode, 200);
  t.equal((await s.call('GET', `/jobs/${ids[0]}`, 'io.cozy.jobs:GET:echo:worker')).statusCode, 403);
  t.equal((await s.call('GET', '/jobs/00000000000000000000000000000000', 'io.cozy.jobs')).statusCode, 404);
});

t.test('purge removes old finished jobs; clean settles stuck ones', async (t) => {
  const s = await setup(t, { workers });
  const id = (await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: { attributes: {} } })).json().data.id;
  await s.waitJob(id, (j) => j.state === 'done');
  t.same((await s.call('DELETE', '/jobs/purge?duration=1W', 'io.cozy.jobs')).json(), { deleted: 0 }, 'recent jobs are kept');
  t.equal((await s.call('DELETE', '/jobs/purge?duration=soon', 'io.cozy.jobs')).statusCode, 400);
  t.equal((await s.call('DELETE', '/jobs/purge', 'io.cozy.jobs:DELETE:echo:worker')).statusCode, 403, 'needs the whole doctype');
  await sleep(1_100);
  t.same((await s.call('DELETE', '/jobs/purge?duration=1s&workers=echo', 'io.cozy.jobs')).json(), { deleted: 1 });
  t.equal((await s.call('GET', `/jobs/${id}`, 'io.cozy.jobs')).statusCode, 404);
  // A job left running by a dead process, an hour ago.
  const store = s.tk.kernel.store;
  await store.put(s.inst, 'io.cozy.jobs', { _id: 'stuckjob', domain: s.inst.domain, worker: 'echo', state: 'running', options: {}, message: null, queued_at: new Date(Date.now() - 7_200_000).toISOString(), started_at: new Date(Date.now() - 7_200_000).toISOString() });
  t.same((await s.call('POST', '/jobs/clean', 'io.cozy.jobs')).json(), { deleted: 1 });
  t.equal((await s.call('GET', '/jobs/stuckjob', 'io.cozy.jobs')).json().data.attributes.state, 'done');
});
