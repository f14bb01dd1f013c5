import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { FILES, fileSize, isDir } from '@cozy-ts/kernel';
import { inCi } from '../../../test/helpers/swift-process.ts';
import { davFileId } from '../src/nextcloud/file-ids.ts';
import { dav, startWebdav } from './helpers.ts';

const run = promisify(execFile);

const missing = await run('sh', ['-c', 'command -v nextcloudcmd']).then(() => '', () => 'nextcloudcmd is not installed (Debian: nextcloud-desktop-cmd)');
const noSqlite = await run('sh', ['-c', 'command -v sqlite3']).then(() => false, () => true);

/** What one run of the client did, from its log: the transfers and changes it made on the server. */
interface SyncRun {
  log: string;
  jobs: Record<'PUT' | 'GET' | 'MKCOL' | 'DELETE' | 'MOVE', number>;
}

const JOBS = { PUT: 'PUTFileJob', GET: 'GETFileJob', MKCOL: 'MkColJob', DELETE: 'DeleteJob', MOVE: 'MoveJob' } as const;

t.test('the Nextcloud desktop sync client (nextcloudcmd) syncs both ways', { skip: missing && !inCi() ? missing : false }, async (t) => {
  if (missing) {
    t.fail(`${missing}: CI installs it (.ci/run)`);
    return;
  }
  const env = await startWebdav(t);
  const files = env.tk.kernel.container.resolve(FILES.token);
  const work = await mkdtemp(join(tmpdir(), 'webdav-nextcloudcmd-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const local = join(work, 'local');
  const L = (p: string) => join(local, p);

  const sync = async (extraEnv: Record<string, string> = {}): Promise<SyncRun> => {
    // The client keeps its settings under $HOME; its journal is in the synced folder.
    // OWNCLOUD_CHUNK_SIZE: parts of 2 MB, so the 5 MB file goes up the way every file over 10 MB does by default.
    const { stdout, stderr } = await run('nextcloudcmd', ['--non-interactive', '-u', 'me', '-p', env.password, local, env.origin], {
      env: { ...process.env, HOME: work, OWNCLOUD_CHUNK_SIZE: '2000000', QT_QPA_PLATFORM: 'offscreen', ...extraEnv },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
    });
    const log = stdout + stderr;
    const count = (job: string) => log.split(`OCC::${job} created for`).length - 1;
    return { log, jobs: { PUT: count(JOBS.PUT), GET: count(JOBS.GET), MKCOL: count(JOBS.MKCOL), DELETE: count(JOBS.DELETE), MOVE: count(JOBS.MOVE) } };
  };
  const serverText = async (path: string) => {
    const res = await dav(env, 'GET', path);
    return res.status === 200 ? res.text() : `(${res.status})`;
  };
  /** Every entry of the server's tree, as path → revision. */
  const serverTree = async () => {
    const out = new Map<string, string>();
    const walk = async (dirId: string, prefix: string): Promise<void> => {
      for await (const doc of files.children(env.inst, dirId)) {
        if (prefix === '' && doc.name === '.cozy_trash') continue;
        out.set(`${prefix}/${doc.name}`, doc._rev ?? '');
        if (isDir(doc)) await walk(doc._id, `${prefix}/${doc.name}`);
      }
    };
    await walk((await files.statByPath(env.inst, '/'))._id, '');
    return out;
  };

  const big = randomBytes(5 * 1024 * 1024);
  await mkdir(L('Documents/Projets/2026'), { recursive: true });
  await mkdir(L('Vide'), { recursive: true });
  await mkdir(L('Photos été'), { recursive: true });
  await writeFile(L('Documents/notes.md'), '# notes\n');
  await writeFile(L('Documents/Projets/2026/plan.txt'), 'plan v1');
  await writeFile(L('Photos été/Ωmega 日本 ñ.txt'), 'unicode name');
  await writeFile(L('Photos été/big.bin'), big);
  await writeFile(L('top.txt'), 'at the top');

  await t.test('first sync: the local tree goes up', async (t) => {
    const first = await sync();
    t.equal(first.jobs.GET, 0, 'nothing to download');
    t.ok(first.jobs.PUT >= 5, `uploads (${first.jobs.PUT} PUTs)`);
    t.match(first.log, /PropagateUploadFileNG/, 'the 5 MB file went in parts, by chunked upload v2 (advertised)');
    t.equal(await serverText('/Documents/notes.md'), '# notes\n');
    t.equal(await serverText('/Documents/Projets/2026/plan.txt'), 'plan v1');
    t.equal(await serverText('/Photos été/Ωmega 日本 ñ.txt'), 'unicode name');
    t.equal(await serverText('/top.txt'), 'at the top');
    const bigDoc = await files.statByPath(env.inst, '/Photos été/big.bin');
    t.equal(fileSize(bigDoc), big.length);
    const got = Buffer.from(await (await dav(env, 'GET', '/Photos été/big.bin')).arrayBuffer());
    t.ok(got.equals(big), 'the 5 MB file, byte for byte');
    t.ok(isDir(await files.statByPath(env.inst, '/Vide')), 'the empty folder');
    t.notOk((await serverTree()).has('/.nextcloud-uploads'), 'no staging left behind');
  });

  await t.test("the client's journal keys files on our oc:id, as the OC-FileId of their upload gave it", { skip: noSqlite && 'sqlite3 is not installed' }, async (t) => {
    const journal = (await readdir(local)).find((n) => /^\.sync_.*\.db$/.test(n));
    t.ok(journal, 'the sync journal');
    const query = async (sql: string) => (await run('sqlite3', ['-readonly', L(journal as string), sql])).stdout.trim();
    for (const path of ['top.txt', 'Documents/Projets/2026/plan.txt', 'Photos été/big.bin', 'Vide']) {
      const doc = await files.statByPath(env.inst, `/${path}`);
      t.equal(await query(`SELECT fileid FROM metadata WHERE path = '${path}'`), davFileId(doc._id, env.inst), path);
    }
  });

  await t.test('changes made on the server come down', async (t) => {
    // Folders the client made itself have no ETag in its journal until it lists them once: it then knows them all,
    // and from here on it only descends into a folder whose ETag changed.
    await sync();
    t.equal((await dav(env, 'MOVE', '/top.txt', { headers: { destination: `${env.url}Documents/moved%20top.txt` } })).status, 201, 'rename + move');
    t.equal((await dav(env, 'PUT', '/Documents/Projets/2026/plan.txt', { body: 'plan v2, edited on the server' })).status, 204, 'edit deep down');
    t.equal((await dav(env, 'DELETE', '/Documents/notes.md')).status, 204, 'delete');
    t.equal((await dav(env, 'MKCOL', '/Nouveau')).status, 201);
    t.equal((await dav(env, 'PUT', '/Nouveau/from server.txt', { body: 'made on the server' })).status, 201, 'new folder and file');
    const second = await sync();
    t.equal(second.jobs.PUT, 0, 'nothing to upload');
    t.equal(await readFile(L('Documents/moved top.txt'), 'utf8'), 'at the top');
    await t.rejects(stat(L('top.txt')), 'the old name is gone');
    t.equal(await readFile(L('Documents/Projets/2026/plan.txt'), 'utf8'), 'plan v2, edited on the server');
    await t.rejects(stat(L('Documents/notes.md')), 'deleted locally');
    t.equal(await readFile(L('Nouveau/from server.txt'), 'utf8'), 'made on the server');
    t.match(second.log, /Rename detected \(down\)/, 'the rename is a local rename (same file id), not a download');
  });

  await t.test('changes made locally go up', async (t) => {
    await writeFile(L('Documents/Projets/2026/plan.txt'), 'plan v3, edited locally, longer');
    await rename(L('Photos été/Ωmega 日本 ñ.txt'), L('Photos été/renamed ü.txt'));
    await rm(L('Nouveau'), { recursive: true });
    await mkdir(L('Vide/Sous-dossier'));
    await writeFile(L('Vide/Sous-dossier/new.txt'), 'new locally');
    const big2 = randomBytes(3 * 1024 * 1024);
    await writeFile(L('Photos été/big.bin'), big2);
    const before = await files.statByPath(env.inst, '/Photos été/Ωmega 日本 ñ.txt');
    const bigBefore = await files.statByPath(env.inst, '/Photos été/big.bin');
    // Without chunked upload v2 the client sends OC-Chunked parts (what it does against a server not offering v2).
    const third = await sync({ OWNCLOUD_CHUNKING_NG: '0' });
    t.match(third.log, /big\.bin-chunking-\d+-2-/, 'the changed big file went up as OC-Chunked parts');
    const bigAfter = await files.statByPath(env.inst, '/Photos été/big.bin');
    t.equal(bigAfter._id, bigBefore._id, 'a new version of the same file');
    t.ok(Buffer.from(await (await dav(env, 'GET', '/Photos été/big.bin')).arrayBuffer()).equals(big2), 'byte for byte');
    t.equal(third.jobs.GET, 0, 'nothing to download');
    t.equal(await serverText('/Documents/Projets/2026/plan.txt'), 'plan v3, edited locally, longer');
    const renamed = await files.statByPath(env.inst, '/Photos été/renamed ü.txt');
    t.equal(renamed._id, before._id, 'renamed on the server with a MOVE, the same file');
    t.equal(await serverText('/Photos été/Ωmega 日本 ñ.txt'), '(404)');
    t.equal(await serverText('/Nouveau/from server.txt'), '(404)', 'deleted on the server (to the trash)');
    t.equal(await serverText('/Vide/Sous-dossier/new.txt'), 'new locally');
  });

  await t.test('a sync with nothing changed transfers nothing', async (t) => {
    // The first sync after one's own uploads may list folders again (their ETags moved with the uploads).
    await sync();
    const tree = await serverTree();
    const localNames = (await readdir(local)).filter((n) => !n.startsWith('.sync_')).sort();
    const idle = await sync();
    t.same(idle.jobs, { PUT: 0, GET: 0, MKCOL: 0, DELETE: 0, MOVE: 0 }, 'no transfer, no change');
    t.same(await serverTree(), tree, 'no server entry changed, not even its revision');
    t.same((await readdir(local)).filter((n) => !n.startsWith('.sync_')).sort(), localNames);
  });

  await t.test('a journal from before numeric file ids (our document ids as oc:id) moves to the new ids', { skip: noSqlite && 'sqlite3 is not installed' }, async (t) => {
    const journal = L((await readdir(local)).find((n) => /^\.sync_.*\.db$/.test(n)) as string);
    const sql = async (text: string) => (await run('sqlite3', [journal, text])).stdout.trim();
    const paths = (await sql('SELECT path FROM metadata')).split('\n');
    const docs = new Map(await Promise.all(paths.map(async (p) => [p, (await files.statByPath(env.inst, `/${p}`))._id] as const)));
    // What the journal held when oc:id was the document id.
    await sql(`BEGIN; ${[...docs].map(([p, id]) => `UPDATE metadata SET fileid = '${id}' WHERE path = '${p.replace(/'/g, "''")}';`).join(' ')} COMMIT;`);
    // A rename on the server is found by file id: with the journal's old id it cannot be, so it is a download, once.
    const rename = async (from: string, to: string) =>
      t.equal((await dav(env, 'MOVE', from, { headers: { destination: `${env.url}${encodeURI(to.slice(1))}` } })).status, 201, `MOVE ${from}`);
    await rename('/Documents/moved top.txt', '/Documents/top again.txt');
    const upgrade = await sync();
    t.same(upgrade.jobs, { PUT: 0, GET: 1, MKCOL: 0, DELETE: 0, MOVE: 0 }, 'the renamed file downloaded again, nothing else');
    t.equal(await readFile(L('Documents/top again.txt'), 'utf8'), 'at the top');
    await t.rejects(stat(L('Documents/moved top.txt')), 'the old name gone');
    const ids = new Map((await sql('SELECT path, fileid FROM metadata')).split('\n').map((l) => l.split('|') as [string, string]));
    for (const [p, id] of docs) {
      const now = p === 'Documents/moved top.txt' ? 'Documents/top again.txt' : p;
      t.equal(ids.get(now), davFileId(id, env.inst), `${now}: the new id`);
    }
    await rename('/Documents/top again.txt', '/top.txt');
    const after = await sync();
    t.same(after.jobs, { PUT: 0, GET: 0, MKCOL: 0, DELETE: 0, MOVE: 0 }, 'from then on renames are renames');
    t.match(after.log, /Rename detected \(down\)/);
    t.equal(await readFile(L('top.txt'), 'utf8'), 'at the top');
  });
});
