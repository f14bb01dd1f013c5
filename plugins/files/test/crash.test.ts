import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { filesUnder } from '@cozy-ts/kernel/testing';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const fixture = join(here, 'fixtures', 'serve.ts');

interface Server {
  child: ChildProcess;
  port: number;
  token: string;
}

async function startServer(storage: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, storage, repoRoot], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((ok, fail) => {
    let out = '';
    (child.stdout as Readable).on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY .*\n/.exec(out);
      if (m) ok(m[0]);
    });
    child.once('exit', (code) => fail(new Error(`the server exited (${code}) before it was ready`)));
  });
  const [, port, token] = line.trim().split(' ');
  return { child, port: Number(port), token: token as string };
}

function call(s: Server, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: s.port, method, path, headers: { host: 'alice.example', authorization: `Bearer ${s.token}` } }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => (data += d.toString()));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

t.test('kill -9 in the middle of an upload: after a restart no partial file is visible and the temporaries are gone', async (t) => {
  const storage = await mkdtemp(join(tmpdir(), 'cozy-files-crash-'));
  t.teardown(() => rm(storage, { recursive: true, force: true }));
  const first = await startServer(storage);
  t.teardown(() => first.child.kill('SIGKILL'));
  t.equal((await call(first, 'POST', '/files/io.cozy.files.root-dir?Type=file&Name=kept.txt', 'kept')).status, 201);
  const before = await filesUnder(join(storage, 'files'));

  // Half a declared megabyte, then the server dies.
  const upload = request({
    host: '127.0.0.1', port: first.port, method: 'POST', path: '/files/io.cozy.files.root-dir?Type=file&Name=partial.bin',
    headers: { host: 'alice.example', authorization: `Bearer ${first.token}`, 'content-length': String(1024 * 1024) },
  });
  upload.on('error', () => undefined);
  upload.write(Buffer.alloc(512 * 1024, 'p'));
  let during = await filesUnder(join(storage, 'files'));
  for (let i = 0; i < 100 && during.length === before.length; i++) {
    await new Promise((r) => setTimeout(r, 20));
    during = await filesUnder(join(storage, 'files'));
  }
  t.ok(during.length > before.length, 'a temporary was being written');
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  upload.destroy();

  const second = await startServer(storage);
  t.teardown(() => second.child.kill('SIGKILL'));
  t.equal((await call(second, 'GET', '/files/metadata?Path=/partial.bin')).status, 404, 'no partial file');
  t.equal((await call(second, 'GET', '/files/download?Path=/kept.txt')).body, 'kept', 'the other file is intact');
  t.same(await filesUnder(join(storage, 'files')), before, 'the temporaries were removed at start');
  const fsck = await call(second, 'GET', '/files/fsck?NoCache=true');
  t.equal(fsck.status, 200);
  t.same(JSON.parse(fsck.body), [], 'fsck finds no content mismatch');
  const retry = await call(second, 'POST', '/files/io.cozy.files.root-dir?Type=file&Name=partial.bin', 'whole');
  t.equal(retry.status, 201);
});
