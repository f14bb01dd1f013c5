import { randomUUID } from 'node:crypto';
import t from 'tap';
import type { JobDoc } from '@cozy-ts/kernel';
import { ToggleProxy } from '../../../kernel/test/helpers/toggle-proxy.ts';
import { freePort } from '../../../test/helpers/processes.ts';
import { DOMAIN, setup, sleep } from './helpers.ts';
import { redisUrl } from './redis.ts';

// Redis sits behind a proxy on a fixed port, down at boot: the jobs plugin must let the server boot, answer 503
// meanwhile, and start working once Redis answers, with no restart.
t.test('Redis down at boot: 503 first, jobs run once it answers', async (t) => {
  const target = new URL(await redisUrl(t));
  const proxy = new ToggleProxy(await freePort(), { host: target.hostname, port: Number(target.port || 6379) });
  t.teardown(() => proxy.down());
  const ran: unknown[] = [];
  const s = await setup(t, {
    workers: { echo: { concurrency: 1, async run({ job }) { ran.push(job.message); } } },
    config: { broker: 'redis', redis: { url: `redis://127.0.0.1:${proxy.port}`, prefix: `cozy-jobs-test-${randomUUID()}` } },
  });
  t.equal(s.inst.domain, DOMAIN, 'the kernel booted and serves instances');

  const queue = () => s.call('POST', '/jobs/queue/echo', 'io.cozy.jobs', { data: { attributes: { arguments: { n: 1 } } } });
  const refused = await queue();
  t.equal(refused.statusCode, 503, 'POST /jobs/queue answers 503 while Redis is away');
  t.match(refused.body, /COZY_ERR_JOBS_BROKER_UNAVAILABLE|not reachable/, 'with the broker error');
  const triggers = await s.call('GET', '/jobs/triggers', 'io.cozy.triggers');
  t.equal(triggers.statusCode, 503, 'trigger routes too');
  const status = await s.tk.kernel.app.inject({ method: 'GET', url: '/status' });
  t.equal(status.statusCode, 502, '/status says KO');
  t.not(status.json().jobs, 'healthy', 'the jobs plugin reports itself unhealthy');
  const listed = await s.call('GET', '/jobs/queue/echo', 'io.cozy.jobs');
  t.same(listed.statusCode === 200 ? listed.json().data : [], [], 'the refused push left no job document behind');

  await sleep(600); // a few background tries fail meanwhile
  await proxy.up();
  const deadline = Date.now() + 15_000;
  let accepted = await queue();
  while (accepted.statusCode === 503 && Date.now() < deadline) {
    await sleep(100);
    accepted = await queue();
  }
  t.equal(accepted.statusCode, 202, 'queued once Redis answers');
  const job = await s.waitJob(accepted.json().data.id, (j: JobDoc) => j.state === 'done' || j.state === 'errored', 10_000);
  t.equal(job.state, 'done', 'the job ran');
  t.same(ran, [{ n: 1 }], 'through the registered worker');
  const healthy = await s.tk.kernel.app.inject({ method: 'GET', url: '/status' });
  t.equal(healthy.json().jobs, 'healthy', 'the jobs plugin is healthy again');
  t.equal((await s.call('GET', '/jobs/triggers', 'io.cozy.triggers')).statusCode, 200, 'trigger routes answer');
});

t.test('stopping while Redis is still away ends promptly', async (t) => {
  const port = await freePort(); // nothing listens there
  const s = await setup(t, { config: { broker: 'redis', redis: { url: `redis://127.0.0.1:${port}`, prefix: `cozy-jobs-test-${randomUUID()}` } } });
  await sleep(300);
  const began = Date.now();
  await s.tk.close();
  t.ok(Date.now() - began < 3_000, `closed in ${Date.now() - began} ms`);
});
