import sharp from 'sharp';
import t from 'tap';
import { VFS, type Doc, type InstanceDoc, type VfsContent } from '@cozy-ts/kernel';
import type { TestKernel } from '@cozy-ts/kernel/testing';
import { attrs, setup } from './helpers.ts';

const JOBS_DOCTYPE = 'io.cozy.jobs';

async function jobsOf(tk: TestKernel, inst: InstanceDoc, worker: string): Promise<Doc[]> {
  try {
    const res = await tk.kernel.store.allDocs(inst, JOBS_DOCTYPE, { include_docs: true });
    return res.rows.flatMap((r) => (r.doc && r.doc.worker === worker ? [r.doc] : []));
  } catch (err) {
    if ((err as { status?: number }).status === 404) return [];
    throw err;
  }
}

/** Waits until `worker` has at least one job and none of them is queued or running any more. */
async function settledJobs(tk: TestKernel, inst: InstanceDoc, worker: string): Promise<Doc[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const jobs = await jobsOf(tk, inst, worker);
    if (jobs.length > 0 && jobs.every((j) => j.state === 'done' || j.state === 'errored')) return jobs;
    if (Date.now() > deadline) throw new Error(`${worker} jobs did not settle: ${JSON.stringify(jobs.map((j) => j.state))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** vfs-local + files + jobs on its memory broker, with short retry delays. */
function withJobs(t: Parameters<typeof setup>[0]) {
  return setup(t, { plugins: { '@cozy-ts/plugin-jobs': { broker: 'memory', backoffMs: 50 } } });
}

t.test('an uploaded image gets its thumbnails through a thumbnail job', async (t) => {
  const s = await withJobs(t);
  const image = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#3a7' } }).jpeg().toBuffer();
  const res = await s.call('POST', '/files/?Type=file&Name=photo.jpg', { body: image, headers: { 'content-type': 'image/jpeg' } });
  t.equal(res.statusCode, 201, 'uploaded');
  const id = attrs(res).id;
  const jobs = await settledJobs(s.tk, s.inst, 'thumbnail');
  t.ok(jobs.some((j) => (j.message as { file_id?: string }).file_id === id && j.state === 'done'), 'a thumbnail job for the file ended done');
  const vfs = s.tk.kernel.container.resolve<VfsContent>(VFS.token);
  for (const format of ['tiny', 'small', 'medium', 'large']) {
    const chunks: Buffer[] = [];
    for await (const c of await vfs.readThumbnail(s.inst, id, format)) chunks.push(c as Buffer);
    t.equal((await sharp(Buffer.concat(chunks)).metadata()).format, 'jpeg', `${format} thumbnail made`);
  }
});

t.test('DELETE /files/trash empties the trash through a trash-files job', async (t) => {
  const s = await withJobs(t);
  const ids: string[] = [];
  for (const name of ['a.txt', 'b.txt']) {
    const res = await s.call('POST', `/files/?Type=file&Name=${name}`, { body: 'hello', headers: { 'content-type': 'text/plain' } });
    t.equal(res.statusCode, 201);
    ids.push(attrs(res).id);
    t.equal((await s.call('DELETE', `/files/${attrs(res).id}`)).statusCode, 200);
  }
  t.equal((await s.call('DELETE', '/files/trash')).statusCode, 204);
  const jobs = await settledJobs(s.tk, s.inst, 'trash-files');
  t.equal(jobs.length, 1);
  t.equal(jobs[0]?.state, 'done');
  const trash = await s.call('GET', '/files/trash');
  t.same((trash.json() as { data: unknown[] }).data, [], 'the trash is empty');
  for (const id of ids) t.equal((await s.call('GET', `/files/${id}`)).statusCode, 404, 'destroyed');
});

t.test('the workers are reserved, and a bad thumbnail job is retried then errored', async (t) => {
  const s = await withJobs(t);
  const store = s.tk.kernel.store;
  await store.put(s.inst, 'io.cozy.oauth.clients', { _id: 'client1', client_name: 'Client', redirect_uris: ['http://x/'] });
  await store.put(s.inst, 'io.cozy.apps', { _id: 'io.cozy.apps/photos', slug: 'photos', state: 'ready' });
  await store.put(s.inst, 'io.cozy.permissions', { _id: 'io.cozy.apps/photos', type: 'app', source_id: 'io.cozy.apps/photos', permissions: { jobs: { type: 'io.cozy.jobs' } } });
  const oauth = await s.tk.kernel.auth.issueToken(s.inst, 'access', { subject: 'client1', scope: 'io.cozy.jobs' });
  const app = await s.tk.kernel.auth.issueToken(s.inst, 'app', { subject: 'photos' });
  const queue = (worker: string, token: string) => s.tk.kernel.app.inject({
    method: 'POST', url: `/jobs/queue/${worker}`,
    headers: { host: s.inst.domain, authorization: `Bearer ${token}`, 'content-type': 'application/vnd.api+json' },
    payload: JSON.stringify({ data: { attributes: { arguments: {} } } }),
  });
  for (const [who, token] of [['OAuth client', oauth], ['app', app]] as const) {
    const ordinary = await queue('log', token);
    t.equal(ordinary.statusCode, 202, `the ${who} may queue an ordinary worker`);
    for (const worker of ['thumbnail', 'trash-files']) {
      const res = await queue(worker, token);
      t.equal(res.statusCode, 403, `${worker} is reserved to the stack (${who})`);
      t.match(res.json(), { errors: [{ code: 'COZY_ERR_JOBS_RESERVED_WORKER' }] });
    }
  }
  // The CLI may: a thumbnail job without a file_id fails, is tried again, and ends errored.
  t.equal((await queue('thumbnail', await s.token('io.cozy.jobs'))).statusCode, 202);
  const [job] = await settledJobs(s.tk, s.inst, 'thumbnail');
  t.equal(job?.state, 'errored');
  t.equal(job?.exec_count, 2, 'tried twice (max_exec_count)');
});
