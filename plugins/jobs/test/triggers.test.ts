import t from 'tap';
import type { JobDoc, WorkerDefinition } from '@cozy-ts/kernel';
import { setup, sleep, type JobsSetup } from './helpers.ts';

const seen: JobDoc[] = [];
const workers: Record<string, WorkerDefinition> = {
  echo: { async run({ job }) { seen.push(job); } },
};

const create = (s: JobsSetup, attributes: Record<string, unknown>, scope = 'io.cozy.triggers') =>
  s.call('POST', '/jobs/triggers', scope, { data: { attributes } });

async function jobsOf(s: JobsSetup, triggerId: string): Promise<JobDoc[]> {
  const res = await s.call('GET', `/jobs/triggers/${triggerId}/jobs`, 'io.cozy.triggers');
  return res.json().data.map((d: { id: string; attributes: JobDoc }) => ({ ...d.attributes, _id: d.id }));
}

async function until(check: () => Promise<boolean>, timeoutMs = 8_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

t.test('@every fires on schedule; the trigger shows its state and jobs; DELETE stops it', async (t) => {
  const s = await setup(t, { workers });
  const res = await create(s, { type: '@every', arguments: '1s', worker: 'echo', message: { n: 1 } });
  t.equal(res.statusCode, 201, res.body);
  const trig = res.json().data;
  t.match(trig, { type: 'io.cozy.triggers', attributes: { type: '@every', arguments: '1s', worker: 'echo', message: { n: 1 }, domain: 'alice.example' }, links: { self: `/jobs/triggers/${trig.id}` } });
  t.ok(await until(async () => (await jobsOf(s, trig.id)).filter((j) => j.state === 'done').length >= 2), 'two jobs within a few seconds');
  const jobs = await jobsOf(s, trig.id);
  t.equal(jobs[0].trigger_id, trig.id);
  t.same(jobs[0].message, { n: 1 });
  const one = await s.call('GET', `/jobs/triggers/${trig.id}`, 'io.cozy.triggers');
  t.equal(one.json().data.attributes.current_state.status, 'done');
  t.ok(one.json().data.attributes.current_state.last_success);
  const state = await s.call('GET', `/jobs/triggers/${trig.id}/state`, 'io.cozy.triggers');
  t.match(state.json().data, { type: 'io.cozy.triggers.state', id: trig.id, attributes: { status: 'done' } });
  t.equal((await s.call('GET', `/jobs/triggers/${trig.id}/jobs?Limit=1`, 'io.cozy.triggers')).json().data.length, 1);
  t.equal((await s.call('DELETE', `/jobs/triggers/${trig.id}`, 'io.cozy.triggers')).statusCode, 204);
  t.equal((await s.call('GET', `/jobs/triggers/${trig.id}`, 'io.cozy.triggers')).statusCode, 404);
  const count = seen.filter((j) => j.trigger_id === trig.id).length;
  await sleep(1_500);
  t.equal(seen.filter((j) => j.trigger_id === trig.id).length, count, 'no more jobs after deletion');
});

t.test('@in fires once and the trigger is deleted; @at in the past fires at once', async (t) => {
  const s = await setup(t, { workers });
  const inTrig = (await create(s, { type: '@in', arguments: '1s', worker: 'echo' })).json().data;
  const atTrig = (await create(s, { type: '@at', arguments: new Date(Date.now() - 1000).toISOString(), worker: 'echo' })).json().data;
  t.ok(await until(async () => seen.some((j) => j.trigger_id === atTrig.id)), '@at fired');
  t.ok(await until(async () => seen.some((j) => j.trigger_id === inTrig.id)), '@in fired');
  t.ok(await until(async () => (await s.call('GET', `/jobs/triggers/${inTrig.id}`, 'io.cozy.triggers')).statusCode === 404), '@in deleted');
  t.equal((await s.call('GET', `/jobs/triggers/${atTrig.id}`, 'io.cozy.triggers')).statusCode, 404, '@at deleted');
});

t.test('@cron with six fields fires every second; PATCH changes its schedule', async (t) => {
  const s = await setup(t, { workers });
  const trig = (await create(s, { type: '@cron', arguments: '* * * * * *', worker: 'echo' })).json().data;
  t.ok(await until(async () => seen.filter((j) => j.trigger_id === trig.id).length >= 2), 'fires each second');
  const patched = await s.call('PATCH', `/jobs/triggers/${trig.id}`, 'io.cozy.triggers', { data: { attributes: { arguments: '0 0 0 1 1 *' } } });
  t.equal(patched.statusCode, 200, patched.body);
  t.equal(patched.json().data.attributes.arguments, '0 0 0 1 1 *');
  await sleep(300);
  const count = seen.filter((j) => j.trigger_id === trig.id).length;
  await sleep(1_500);
  t.equal(seen.filter((j) => j.trigger_id === trig.id).length, count, 'the old schedule is gone');
  t.equal((await s.call('PATCH', `/jobs/triggers/${trig.id}`, 'io.cozy.triggers', { data: { attributes: { arguments: 'nope' } } })).statusCode, 400);
});

t.test('@daily, @weekly, @monthly and @hourly with ranges are accepted; bad ranges are 400', async (t) => {
  const s = await setup(t, { workers });
  for (const [type, args] of [['@hourly', ''], ['@daily', 'before 5am'], ['@daily', 'between 8am and 6pm'], ['@weekly', 'on mon,wed-fri after 10pm'], ['@weekly', 'on weekend'], ['@monthly', 'on the 1-5 before 9am']]) {
    const res = await create(s, { type, arguments: args, worker: 'echo' });
    t.equal(res.statusCode, 201, `${type} ${args}: ${res.body}`);
  }
  for (const [type, args] of [['@daily', 'after 6pm before 8am'], ['@daily', 'on monday'], ['@weekly', 'on funday'], ['@monthly', 'on the 32'], ['@daily', 'before 13pm'], ['@hourly', 'sometimes']]) {
    t.equal((await create(s, { type, arguments: args, worker: 'echo' })).statusCode, 400, `${type} ${args}`);
  }
});

t.test('garbage trigger arguments and impossible cron dates are 400', async (t) => {
  const s = await setup(t, { workers });
  const bad: Array<Record<string, unknown>> = [
    { type: '@cron', arguments: '0 0 0 30 2 *' },
    { type: '@cron', arguments: '0 0 0 31 4 *' },
    { type: '@cron', arguments: '* * * * *' },
    { type: '@cron', arguments: '61 * * * * *' },
    { type: '@cron', arguments: '\u0000\u0001' },
    { type: '@every', arguments: '0s' },
    { type: '@every', arguments: '10ms' },
    { type: '@every', arguments: 'often' },
    { type: '@every', arguments: '-5m' },
    { type: '@at', arguments: 'tomorrow' },
    { type: '@at', arguments: '2026-13-45T99:00:00Z' },
    { type: '@in', arguments: 'x' },
    { type: '@event', arguments: '' },
    { type: '@event', arguments: 'io.cozy.files:EXPLODED' },
    { type: '@event', arguments: 'not a doctype!' },
    { type: '@event', arguments: 'io.cozy.files:UPDATED:!=' },
    { type: '@whenever', arguments: '' },
    { type: '@every', arguments: 42 },
    { type: '@every', arguments: '1m', debounce: 'soon' },
    { type: '@every', arguments: '1m', options: { timeout: -3 } },
    { type: '@every', arguments: 'x'.repeat(5_000) },
  ];
  for (const attrs of bad) {
    const res = await create(s, { worker: 'echo', ...attrs });
    t.equal(res.statusCode, 400, `${JSON.stringify(attrs).slice(0, 80)} → ${res.body.slice(0, 200)}`);
  }
  t.equal((await create(s, { type: '@every', arguments: '1m', worker: 'nope' })).statusCode, 404, 'unknown worker');
  t.equal((await create(s, { type: '@every', arguments: '1m' })).statusCode, 400, 'no worker');
  t.equal((await s.call('GET', '/jobs/triggers', 'io.cozy.triggers')).json().data.length, 0, 'nothing was stored');
});

t.test('@event fires on matching document writes (verbs, values, selector, !=)', async (t) => {
  const s = await setup(t, { workers });
  const store = s.tk.kernel.store;
  const any = (await create(s, { type: '@event', arguments: 'io.cozy.test.notes', worker: 'echo' })).json().data;
  const created = (await create(s, { type: '@event', arguments: 'io.cozy.test.notes:CREATED:red,blue:color', worker: 'echo' })).json().data;
  const changed = (await create(s, { type: '@event', arguments: 'io.cozy.test.notes:UPDATED:!=:color', worker: 'echo' })).json().data;
  const other = (await create(s, { type: '@event', arguments: 'io.cozy.test.other io.cozy.test.more:DELETED', worker: 'echo' })).json().data;
  const count = (id: string) => seen.filter((j) => j.trigger_id === id).length;

  const r1 = await store.put(s.inst, 'io.cozy.test.notes', { _id: 'n1', color: 'red' });
  const r2 = await store.put(s.inst, 'io.cozy.test.notes', { _id: 'n2', color: 'green' });
  await store.put(s.inst, 'io.cozy.test.notes', { _id: 'n1', _rev: r1.rev, color: 'red', title: 'same color' });
  await store.put(s.inst, 'io.cozy.test.notes', { _id: 'n2', _rev: r2.rev, color: 'blue' });
  t.ok(await until(async () => count(any.id) === 4 && count(created.id) === 1 && count(changed.id) === 1), 'matching triggers fired');
  await sleep(300);
  t.equal(count(any.id), 4, 'every write');
  t.equal(count(created.id), 1, 'only the red creation');
  t.equal(count(changed.id), 1, 'only the color change');
  t.equal(count(other.id), 0, 'other doctypes untouched');
  const job = seen.find((j) => j.trigger_id === created.id)!;
  t.match(job.event, { verb: 'CREATED', doc: { _id: 'n1', color: 'red' } });
});

t.test('@event with debounce queues one job per burst', async (t) => {
  const s = await setup(t, { workers });
  const trig = (await create(s, { type: '@event', arguments: 'io.cozy.test.burst', worker: 'echo', debounce: '2s' })).json().data;
  const burst = Date.now();
  for (let i = 0; i < 10; i++) await s.tk.kernel.store.put(s.inst, 'io.cozy.test.burst', { n: i });
  t.ok(Date.now() - burst < 1_500, 'the burst fits in the debounce window');
  t.equal(seen.filter((j) => j.trigger_id === trig.id).length, 0, 'not before the debounce delay');
  t.ok(await until(async () => seen.filter((j) => j.trigger_id === trig.id).length === 1), 'one job');
  await sleep(1_500);
  t.equal(seen.filter((j) => j.trigger_id === trig.id).length, 1, 'only one');
});

t.test('@webhook: an unauthenticated POST queues a job with the body as payload, rate limited', async (t) => {
  const s = await setup(t, { workers, config: { webhook: { max: 5, windowMs: 60_000 } } });
  const res = await create(s, { type: '@webhook', worker: 'echo', message: { m: 1 } });
  const trig = res.json().data;
  t.equal(trig.links.webhook, `http://alice.example/jobs/webhooks/${trig.id}`);
  const hook = await s.call('POST', `/jobs/webhooks/${trig.id}`, null, { account_id: '0672e560' });
  t.equal(hook.statusCode, 204, hook.body);
  t.ok(await until(async () => seen.some((j) => j.trigger_id === trig.id)));
  t.match(seen.find((j) => j.trigger_id === trig.id), { payload: { account_id: '0672e560' }, message: { m: 1 } });
  const every = (await create(s, { type: '@every', arguments: '1h', worker: 'echo' })).json().data;
  t.equal((await s.call('POST', `/jobs/webhooks/${every.id}`, null, {})).statusCode, 400, 'not a webhook');
  t.equal((await s.call('POST', '/jobs/webhooks/00000000000000000000000000000000', null, {})).statusCode, 404);
  // The flood: the limit counts every call of the instance in the window.
  const codes: number[] = [];
  for (let i = 0; i < 20; i++) codes.push((await s.call('POST', `/jobs/webhooks/${trig.id}`, null, { i })).statusCode);
  t.ok(codes.filter((c) => c === 429).length >= 17, `flood is limited: ${codes.join(',')}`);
  t.equal(seen.filter((j) => j.trigger_id === trig.id).length <= 5, true, 'no more jobs than allowed');
  t.equal((await s.call('GET', '/jobs/triggers', 'io.cozy.triggers')).statusCode, 200, 'server still up');
});

t.test('trigger permissions follow the worker selector; list filters on Worker and Type; launch runs now', async (t) => {
  const s = await setup(t, { workers: { ...workers, other: { async run() {} } } });
  t.equal((await create(s, { type: '@every', arguments: '1h', worker: 'other' }, 'io.cozy.triggers:POST:echo:worker')).statusCode, 403);
  const trig = (await create(s, { type: '@every', arguments: '1h', worker: 'echo' }, 'io.cozy.triggers:POST:echo:worker')).json().data;
  await create(s, { type: '@cron', arguments: '0 0 0 * * *', worker: 'other' });
  t.equal((await s.call('GET', '/jobs/triggers', 'io.cozy.triggers')).json().data.length, 2);
  t.equal((await s.call('GET', '/jobs/triggers?Worker=echo', 'io.cozy.triggers')).json().data.length, 1);
  t.equal((await s.call('GET', '/jobs/triggers?Type=@cron,@at', 'io.cozy.triggers')).json().data.length, 1);
  t.equal((await s.call('GET', '/jobs/triggers?Worker=echo', 'io.cozy.triggers:GET:echo:worker')).statusCode, 200, 'worker-restricted list');
  t.equal((await s.call('GET', '/jobs/triggers', 'io.cozy.triggers:GET:echo:worker')).statusCode, 403, 'needs the Worker filter');
  t.equal((await s.call('GET', `/jobs/triggers/${trig.id}`, 'io.cozy.triggers:GET:other:worker')).statusCode, 403);
  const launched = await s.call('POST', `/jobs/triggers/${trig.id}/launch`, 'io.cozy.triggers:POST:echo:worker');
  t.equal(launched.statusCode, 201, launched.body);
  t.match(launched.json().data.attributes, { worker: 'echo', trigger_id: trig.id, manual_execution: true });
  const done = await s.waitJob(launched.json().data.id, (j) => j.state === 'done');
  t.equal(done.trigger_id, trig.id);
  const state = (await s.call('GET', `/jobs/triggers/${trig.id}/state`, 'io.cozy.triggers')).json().data.attributes;
  t.equal(state.last_manual_job_id, launched.json().data.id);
});

t.test('@client triggers: launch gives a running client job that the app settles with PATCH /jobs/:id', async (t) => {
  const s = await setup(t, { workers });
  const res = await create(s, { type: '@client', worker: 'whatever', message: { konnector: 'bank' } });
  t.equal(res.statusCode, 201, res.body);
  const trig = res.json().data;
  t.equal(trig.attributes.worker, 'client', 'the worker is forced');
  const launched = (await s.call('POST', `/jobs/triggers/${trig.id}/launch`, 'io.cozy.triggers')).json().data;
  t.match(launched.attributes, { worker: 'client', state: 'running', trigger_id: trig.id });
  const patch = (id: string, attributes: unknown, scope = 'io.cozy.jobs') => s.call('PATCH', `/jobs/${id}`, scope, { data: { type: 'io.cozy.jobs', id, attributes } });
  t.equal((await patch(launched.id, { state: 'running' })).statusCode, 400);
  t.equal((await patch(launched.id, { state: 'errored', error: 'LOGIN_FAILED' }, 'io.cozy.jobs:GET')).statusCode, 403);
  const done = await patch(launched.id, { state: 'errored', error: 'LOGIN_FAILED' });
  t.equal(done.statusCode, 200, done.body);
  t.match(done.json().data.attributes, { state: 'errored', error: 'LOGIN_FAILED' });
  t.ok(done.json().data.attributes.finished_at);
  t.equal((await s.call('GET', `/jobs/triggers/${trig.id}/state`, 'io.cozy.triggers')).json().data.attributes.last_error, 'LOGIN_FAILED');
  const echo = (await s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: { attributes: {} } })).json().data;
  t.equal((await patch(echo.id, { state: 'done' })).statusCode, 403, 'only client jobs');
  t.equal((await create(s, { type: '@client', worker: 'client', arguments: '' })).statusCode, 201);
});
