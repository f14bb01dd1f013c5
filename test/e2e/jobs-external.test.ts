import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { ExternalWorker } from '../../plugins-contrib/media-worker/src/worker.ts';
import { sleep, startJobsKernel, withInstance } from '../../plugins/jobs/test/helpers.ts';
import { repoRoot } from '../helpers/processes.ts';

const TOKEN = 'external-worker-secret-0123456789';

async function setupExternal(t: Parameters<typeof startJobsKernel>[0]) {
  const tk = await startJobsKernel(t, { config: { leaseMs: 1_000, external: { token: TOKEN, workers: { media: { max_exec_count: 2, timeout: 3 } } } } });
  const inst = await tk.createInstance('alice.example');
  const s = withInstance(tk, inst);
  const ext = (path: string, body: unknown = {}, token = TOKEN) =>
    tk.kernel.app.inject({ method: 'POST', url: `/jobs/external${path}`, headers: { host: 'workers.internal', authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  const queue = async (message: unknown) => (await s.call('POST', '/jobs/queue/media', 'io.cozy.jobs', { data: { attributes: { arguments: message } } })).json().data.id as string;
  return { s, ext, queue };
}

t.test('the protocol: claim with a lease, heartbeat, finish; wrong tokens and types are refused', async (t) => {
  const { s, ext, queue } = await setupExternal(t);
  t.equal((await ext('/media/claim', {}, 'wrong-token-wrong-token-wrong')).statusCode, 401);
  t.equal((await ext('/log/claim')).statusCode, 404, 'an in-process worker is not external');
  t.equal((await ext('/nope/claim')).statusCode, 404);
  t.equal((await ext('/media/claim')).statusCode, 204, 'nothing to do');
  const id = await queue({ content: 'aGVsbG8=' });
  const claim = await ext('/media/claim?wait=2');
  t.equal(claim.statusCode, 200, claim.body);
  const job = claim.json().job;
  t.match(job, { id, domain: 'alice.example', worker: 'media', message: { content: 'aGVsbG8=' }, attempt: 1, max_exec_count: 2, timeout: 3, lease: { duration_ms: 1_000 } });
  t.equal((await s.call('GET', `/jobs/${id}`, 'io.cozy.jobs')).json().data.attributes.state, 'running');
  for (let i = 0; i < 4; i++) {
    await sleep(400);
    const hb = await ext(`/media/${id}/heartbeat`, { lease_token: job.lease.token, domain: job.domain });
    t.equal(hb.statusCode, 200, `heartbeat ${i}`);
  }
  t.equal((await ext(`/media/${id}/heartbeat`, { lease_token: 'not-the-token', domain: job.domain })).statusCode, 409, 'wrong lease token');
  t.equal((await ext(`/media/${id}/heartbeat`, { domain: job.domain })).statusCode, 400, 'no lease token');
  t.equal((await ext(`/media/${id}/finish`, { lease_token: job.lease.token, domain: 'other.example' })).statusCode, 404, 'wrong domain');
  t.equal((await ext(`/media/${id}/finish`, { lease_token: job.lease.token, domain: job.domain })).statusCode, 204);
  t.equal((await s.call('GET', `/jobs/${id}`, 'io.cozy.jobs')).json().data.attributes.state, 'done');
  t.equal((await ext(`/media/${id}/finish`, { lease_token: job.lease.token, domain: job.domain })).statusCode, 409, 'finished once');
});

t.test('fail retries, then errors after max_exec_count; a lapsed lease is retried; a try past its timeout loses its lease', async (t) => {
  const { s, ext, queue } = await setupExternal(t);
  const id = await queue({});
  let job = (await ext('/media/claim?wait=2')).json().job;
  t.same((await ext(`/media/${id}/fail`, { lease_token: job.lease.token, domain: job.domain, error: 'decoder crashed' })).json(), { state: 'queued' });
  await sleep(200);
  job = (await ext('/media/claim?wait=2')).json().job;
  t.equal(job.attempt, 2);
  t.same((await ext(`/media/${id}/fail`, { lease_token: job.lease.token, domain: job.domain, error: 'decoder crashed again' })).json(), { state: 'errored' });
  t.match((await s.call('GET', `/jobs/${id}`, 'io.cozy.jobs')).json().data.attributes, { state: 'errored', error: 'decoder crashed again' });

  // A worker that claims and vanishes: its lease lapses, the next claim gets the job again.
  const id2 = await queue({});
  const first = (await ext('/media/claim?wait=2')).json().job;
  t.equal(first.id, id2);
  const again = await ext('/media/claim?wait=4');
  t.equal(again.json().job.id, id2, 'handed out again');
  t.equal(again.json().job.attempt, 2);
  t.equal((await ext(`/media/${id2}/finish`, { lease_token: first.lease.token, domain: first.domain })).statusCode, 409, 'the vanished worker cannot finish it');
  // The third claim is past max_exec_count: the job ends errored instead of running a third time.
  await sleep(2_500);
  t.equal((await ext('/media/claim?wait=1')).statusCode, 204);
  const errored = await s.waitJob(id2, (j) => j.state === 'errored');
  t.match(errored.error, /stopped before finishing/);

  const id3 = await queue({});
  const slow = (await ext('/media/claim?wait=2')).json().job;
  let status = 200;
  for (let i = 0; i < 12 && status === 200; i++) {
    await sleep(400);
    status = (await ext(`/media/${id3}/heartbeat`, { lease_token: slow.lease.token, domain: slow.domain })).statusCode;
  }
  t.equal(status, 409, 'heartbeats are refused once the 3 s timeout passed');
});

t.test('the example media worker process runs jobs; killed mid-job, its job is retried by another worker', async (t) => {
  const { s, queue, ext } = await setupExternal(t);
  await s.tk.kernel.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (s.tk.kernel.app.server.address() as { port: number }).port;
  const env = { ...process.env, COZY_URL: `http://127.0.0.1:${port}`, COZY_WORKER_TOKEN: TOKEN, COZY_WORKER_TYPE: 'media' };
  const startProcess = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'plugins-contrib/media-worker/src/main.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    t.teardown(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    return { child, output: () => out, exited };
  };
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]).toString('base64');
  const p1 = startProcess();
  const id = await queue({ content: png });
  await s.waitJob(id, (j) => j.state === 'done', 20_000);
  t.match(p1.output(), /"mime":"image\/png"/);

  const long = await queue({ content: png, delay_ms: 60_000 });
  await s.waitJob(long, (j) => j.state === 'running', 10_000);
  p1.child.kill('SIGKILL');
  await p1.exited;
  // Another worker (here in this process) gets the job once the dead one's lease lapses.
  const ran: Array<{ id: string; attempt: number }> = [];
  const w = new ExternalWorker({ server: env.COZY_URL, token: TOKEN, worker: 'media', waitSeconds: 1, async handle(job) { ran.push({ id: job.id, attempt: job.attempt }); } });
  const running = w.run();
  t.teardown(async () => {
    w.stop();
    await running;
  });
  const done = await s.waitJob(long, (j) => j.state === 'done', 15_000);
  t.equal(done.exec_count, 2);
  t.same(ran, [{ id: long, attempt: 2 }]);
  t.equal((await ext('/media/claim')).statusCode, 204, 'server up, queue empty');
});
