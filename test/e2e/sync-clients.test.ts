import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startSync, type SyncServer } from '../../plugins/sync/test/helpers.ts';
import { repoRoot } from '../helpers/processes.ts';

/**
 * The real CalDAV/CardDAV clients against a kernel with the sync plugin, each over a socket with a device password:
 * vdirsyncer (discover, first sync, no-change sync, edits on both sides, deletes, metasync), python3-caldav and tsdav.
 */
const PEERS = join(repoRoot, 'plugins/sync/test/peers');
const PY = '/usr/bin/python3';

function run(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 90_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-sync-e2e-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function members(s: SyncServer, path: string): Promise<string[]> {
  const r = await s.dav('PROPFIND', path, '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>', { depth: '1' });
  return [...r.text.matchAll(/<D:href>([^<]+\.(?:ics|vcf))<\/D:href>/g)].map((m) => m[1] as string);
}

t.test('python3-caldav passes every check of caldav_client_test.py', async (t) => {
  const s = await startSync(t);
  const r = await run(PY, [join(PEERS, 'caldav_client_test.py'), `${s.origin}/sync/`, 'me', s.password]);
  t.equal(r.code, 0, 'r exits 0', { output: r.out });
  t.notMatch(r.out, /CHECK FAILED/);
  t.match(r.out, /^OK python-caldav/m);
});

t.test('tsdav passes every check of tsdav_client_test.mjs, from /.well-known discovery', async (t) => {
  const s = await startSync(t);
  const r = await run(process.execPath, [join(PEERS, 'tsdav_client_test.mjs'), `${s.origin}/`, 'me', s.password], {
    env: { TSDAV_DIR: join(repoRoot, 'test/clients') },
  });
  t.equal(r.code, 0, 'r exits 0', { output: r.out });
  t.notMatch(r.out, /CHECK FAILED/);
  t.match(r.out, /^OK tsdav/m);
});

t.test('vdirsyncer discovers, syncs both ways, deletes and syncs metadata', async (t) => {
  const s = await startSync(t);
  const dir = await tempDir(t);
  const local = join(dir, 'local');
  const gen = await run(PY, [join(PEERS, 'gen_pim_data.py'), local, '--events', '50', '--cards', '50', '--events-dir', 'cal/ev-test', '--cards-dir', 'card/ab-test']);
  t.equal(gen.code, 0, 'gen exits 0', { output: gen.out });
  const conf = join(dir, 'config');
  const mk = await run('bash', [join(PEERS, 'vds-config.sh'), `${s.origin}/sync/`, local, join(dir, 'status'), conf, 'me', s.password]);
  t.equal(mk.code, 0, 'mk exits 0', { output: mk.out });
  const vds = (...args: string[]) => run('vdirsyncer', ['-c', conf, ...args], { input: 'y\n'.repeat(20), timeoutMs: 120_000 });

  const discover = await vds('discover');
  t.equal(discover.code, 0, 'discover exits 0', { output: discover.out });
  const first = await vds('sync');
  t.equal(first.code, 0, 'first exits 0', { output: first.out });
  t.equal((await members(s, '/sync/calendars/ev-test/')).length, 50, '50 events uploaded');
  t.equal((await members(s, '/sync/contacts/ab-test/')).length, 50, '50 cards uploaded');

  const noChange = await vds('sync');
  t.equal(noChange.code, 0, 'noChange exits 0', { output: noChange.out });
  t.notMatch(noChange.out, /Copying|Deleting/, 'a second sync has nothing to do');

  // Edits on the client side go up.
  const edLocal = await run(PY, [join(PEERS, 'modify_items.py'), 'local', join(local, 'cal/ev-test'), '5', '--tag', 'local-edit']);
  t.equal(edLocal.code, 0, 'edLocal exits 0', { output: edLocal.out });
  const up = await vds('sync');
  t.equal(up.code, 0, 'up exits 0', { output: up.out });
  t.equal((up.out.match(/Copying \(updating\)/g) ?? []).length, 5, 'five local edits uploaded', { output: up.out });
  const hrefs = await members(s, '/sync/calendars/ev-test/');
  let edited = 0;
  for (const h of hrefs) if ((await s.dav('GET', h)).text.includes('(local-edit)')) edited++;
  t.equal(edited, 5, 'the server has the 5 local edits');

  // Edits on the server side come down.
  const edServer = await run(PY, [join(PEERS, 'modify_items.py'), 'server', `${s.origin}/sync/contacts/ab-test/`, '4', '--user', 'me', '--password', s.password, '--tag', 'srv-edit']);
  t.equal(edServer.code, 0, 'edServer exits 0', { output: edServer.out });
  const down = await vds('sync');
  t.equal(down.code, 0, 'down exits 0', { output: down.out });
  let pulled = 0;
  for (const f of await readdir(join(local, 'card/ab-test'))) if ((await readFile(join(local, 'card/ab-test', f), 'utf8')).includes('srv-edit')) pulled++;
  t.equal(pulled, 4, 'the 4 server edits reached the local folder');

  // Deletes both ways.
  const files = (await readdir(join(local, 'cal/ev-test'))).sort();
  for (const f of files.slice(0, 3)) await unlink(join(local, 'cal/ev-test', f));
  const cards = await members(s, '/sync/contacts/ab-test/');
  for (const h of cards.slice(0, 2)) t.equal((await s.dav('DELETE', h)).status, 204);
  const del = await vds('sync');
  t.equal(del.code, 0, 'del exits 0', { output: del.out });
  t.equal((await members(s, '/sync/calendars/ev-test/')).length, 47, 'local deletes reach the server');
  t.equal((await readdir(join(local, 'card/ab-test'))).length, 48, 'server deletes reach the local folder');

  // Metadata: the local displayname and color go to the server's collection properties.
  await writeFile(join(local, 'cal/ev-test/displayname'), 'Events under test');
  await writeFile(join(local, 'cal/ev-test/color'), '#ff8800');
  const meta = await vds('metasync');
  t.equal(meta.code, 0, 'meta exits 0', { output: meta.out });
  const props = await s.dav('PROPFIND', '/sync/calendars/ev-test/', '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:i="http://apple.com/ns/ical/"><d:prop><d:displayname/><i:calendar-color/></d:prop></d:propfind>', { depth: '0' });
  t.match(props.text, /<D:displayname>Events under test<\/D:displayname>/);
  t.match(props.text, /<calendar-color xmlns="http:\/\/apple.com\/ns\/ical\/">#ff8800<\/calendar-color>/);

  const last = await vds('sync');
  t.equal(last.code, 0, 'last exits 0', { output: last.out });
  t.notMatch(last.out, /Copying|Deleting/, 'everything is in sync at the end');
});
