import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { startWebdav } from '../../plugins/webdav/test/helpers.ts';

const run = promisify(execFile);

const NAMES = ['été', 'naïve café', '日本語', 'emoji 🎉', 'straße', 'Ωmega', 'a#b', '50% off', "it's & more", 'x+y=z', '[brackets]', 'ünïcödé'];

/** 500 files in nested folders (up to 3 levels), unicode names, sizes from 0 to ~40 KB, deterministic. */
async function makeTree(root: string): Promise<number> {
  let n = 0;
  for (let a = 0; a < 5; a++) {
    for (let b = 0; b < 4; b++) {
      const dir = join(root, `${NAMES[a]} ${a}`, `${NAMES[(a + b + 5) % NAMES.length]} ${b}`, ...(b % 2 ? [`deep ${NAMES[b]}`] : []));
      await mkdir(dir, { recursive: true });
      for (let i = 0; i < 25; i++, n++) {
        const size = (n * 7919) % 40_000;
        const body = Buffer.alloc(size, n % 251);
        if (size > 8) body.writeUInt32BE(n, 0);
        await writeFile(join(dir, `${NAMES[(n + i) % NAMES.length]} ${n}.bin`), body);
      }
    }
  }
  return n;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) n += e.isDirectory() ? await countFiles(join(dir, e.name)) : 1;
  return n;
}

// Each upload is a VFS creation (store writes under the instance's tree lock): on a 2-core box busy with the other
// test files this takes minutes, so the bound is generous; a hang still fails.
t.setTimeout(300_000);

t.test('rclone syncs a 500-file unicode tree up and down, and check finds no difference', async (t) => {
  const env = await startWebdav(t);
  const work = await mkdtemp(join(tmpdir(), 'webdav-rclone-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const up = join(work, 'up');
  const down = join(work, 'down');
  await mkdir(down, { recursive: true });
  t.equal(await makeTree(up), 500);
  const { stdout: obscured } = await run('rclone', ['obscure', env.password]);
  const rcloneEnv = {
    ...process.env,
    RCLONE_CONFIG: join(work, 'rclone.conf'),
    RCLONE_CONFIG_COZY_TYPE: 'webdav',
    RCLONE_CONFIG_COZY_URL: env.url,
    RCLONE_CONFIG_COZY_VENDOR: 'other',
    RCLONE_CONFIG_COZY_USER: 'me',
    RCLONE_CONFIG_COZY_PASS: obscured.trim(),
  };
  const rclone = (args: string[]) => run('rclone', [...args, '--transfers', '8', '--checkers', '8', '--retries', '1', '--low-level-retries', '2'], { env: rcloneEnv, timeout: 200_000, maxBuffer: 16 * 1024 * 1024 });

  await rclone(['sync', up, 'cozy:tree']);
  await rclone(['sync', 'cozy:tree', down]);
  t.equal(await countFiles(down), 500, '500 files came back');
  const local = await rclone(['check', up, down, '--download']).then(() => 0, (err: { stderr?: string }) => err.stderr);
  t.equal(local, 0, 'the downloaded tree is byte for byte the uploaded one');
  const remote = await rclone(['check', up, 'cozy:tree']).then(() => 0, (err: { stderr?: string }) => err.stderr);
  t.equal(remote, 0, 'rclone check against the server finds no difference');
  const second = await rclone(['sync', up, 'cozy:tree', '-v']);
  t.notMatch(second.stderr, /Copied \(new\)|Copied \(replaced/, 'a second sync uploads nothing');
});
