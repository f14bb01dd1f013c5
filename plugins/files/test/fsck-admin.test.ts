import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import t from 'tap';
import { buildAdminServer } from '../../../kernel/src/http/admin-server.ts';
import { hashSecret } from '../../../kernel/src/auth/passphrase.ts';
import { runCli } from '../../../kernel/src/cli/main.ts';
import { startTestKernel } from '@cozy-ts/kernel/testing';

const PASS = 'admin passphrase for the fsck test';

t.test('GET /instances/:domain/fsck on the admin API and `cozy instances fsck`', async (t) => {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-vfs-local': {}, '@cozy-ts/plugin-files': {} } } });
  t.teardown(() => tk.close());
  const k = tk.kernel;
  const admin = await buildAdminServer({
    log: k.log, instances: k.instances, auth: k.auth, sessions: k.sessions, store: k.store, cluster: k.cluster,
    passphraseHash: await hashSecret(PASS), describePlugins: () => k.describePlugins(), plugins: k.mountedPlugins(),
  });
  t.teardown(() => admin.close());
  const inst = await tk.createInstance('alice.example');
  const basic = { authorization: `Basic ${Buffer.from(`admin:${PASS}`).toString('base64')}` };

  const anon = await admin.inject({ method: 'GET', url: '/instances/alice.example/fsck' });
  t.equal(anon.statusCode, 401, 'the admin passphrase guards the plugin route');
  const unknown = await admin.inject({ method: 'GET', url: '/instances/nobody.example/fsck', headers: basic });
  t.equal(unknown.statusCode, 404);
  const clean = await admin.inject({ method: 'GET', url: '/instances/alice.example/fsck', headers: basic });
  t.equal(clean.statusCode, 200);
  t.match(clean.headers['content-type'], /application\/x-ndjson/);
  t.equal(clean.body, '', 'a fresh instance has no anomaly');

  // A content changed behind the index's back is an anomaly (cozy-stack's content_mismatch), one JSON per line.
  const created = await k.app.inject({
    method: 'POST', url: '/files/io.cozy.files.root-dir?Type=file&Name=a.txt',
    headers: { host: 'alice.example', authorization: `Bearer ${await k.auth.issueToken(inst, 'cli', { subject: 't', scope: 'io.cozy.files' })}`, 'content-type': 'text/plain' },
    payload: 'hello',
  });
  t.equal(created.statusCode, 201);
  await writeFile(join(tk.dir, 'files', 'alice.example', 'a.txt'), 'tampered content');
  const dirty = await admin.inject({ method: 'GET', url: '/instances/alice.example/fsck?FilesConsistency=true', headers: basic });
  t.equal(dirty.statusCode, 200);
  const lines = dirty.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  t.ok(lines.length >= 1, 'the changed content is reported');
  t.ok(lines.every((l) => typeof l.type === 'string'));

  await admin.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}/`;
  const saved = { ...process.env };
  t.teardown(() => {
    process.env = saved;
  });
  process.env.COZY_ADMIN_PASSPHRASE = PASS;
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(args, { log: (l) => out.push(l), error: (l) => err.push(l) });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  };
  const bad = await run('instances', 'fsck', 'alice.example', '--admin-url', url);
  t.equal(bad.code, 1, bad.stderr);
  t.match(bad.stdout, new RegExp(lines[0]!.type));
  t.match(bad.stderr, /anomal/);
  await writeFile(join(tk.dir, 'files', 'alice.example', 'a.txt'), 'hello');
  const ok = await run('instances', 'fsck', 'alice.example', '--admin-url', url);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /No anomaly found/);
  const missing = await run('instances', 'fsck', 'nobody.example', '--admin-url', url);
  t.equal(missing.code, 4);
});
