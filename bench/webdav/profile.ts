/**
 * Where a WebDAV request's time goes on our side (diagnostic, no target): CPU and wall time per VFS operation, in
 * process, on a tree shaped like the benchmark's (--dirs folders of --files files each, 3 KiB), with the embedded
 * store, plus the DAV requests rclone makes (through `inject`). Run with `--cpu-prof` to get a profile of the same
 * work, and under the bench lock like the other benchmarks (`flock /tmp/bench.lock node ...`).
 *
 *   node --import tsx --import reflect-metadata bench/webdav/profile.ts [--dirs 20] [--files 50] [--reps 200] [--only <part of an operation's name>]
 */
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DEVICE_PASSWORDS, FILES, ROOT_DIR_ID, type DirDoc, type FilesService, type InstanceRef } from '@cozy-ts/kernel';
import { startTestKernel } from '@cozy-ts/kernel/testing';
import { fmt, printJson, summarize, table } from '../lib/report.ts';

const { values } = parseArgs({ options: { dirs: { type: 'string', default: '20' }, files: { type: 'string', default: '50' }, reps: { type: 'string', default: '200' }, only: { type: 'string' } } });
const DIRS = Number(values.dirs);
const FILES_PER_DIR = Number(values.files);
const REPS = Number(values.reps);

const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-vfs-local': {}, '@cozy-ts/plugin-files': {}, '@cozy-ts/plugin-webdav': {} } } });
try {
  const inst: InstanceRef = await tk.createInstance('profile.localhost');
  const password = (await tk.kernel.container.resolve(DEVICE_PASSWORDS.token).create(inst, 'profile', ['files'])).password;
  const authorization = `Basic ${Buffer.from(`me:${password}`).toString('base64')}`;
  const dav = async (method: string, path: string, headers: Record<string, string> = {}, payload?: string | Buffer) => {
    const res = await tk.kernel.app.inject({ method: method as 'GET', url: `/dav/files${path}`, headers: { host: 'profile.localhost', authorization, ...headers }, payload });
    if (res.statusCode >= 500) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res;
  };
  const propfind = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getlastmodified/><D:getcontentlength/><D:resourcetype/></D:prop></D:propfind>';
  const files: FilesService = tk.kernel.container.resolve(FILES.token);
  const body = () => Readable.from([Buffer.alloc(3000, 7)]);
  const top = await files.createDir(inst, { dirId: ROOT_DIR_ID, name: 'small' });
  const dirs: DirDoc[] = [];
  for (let d = 0; d < DIRS; d++) dirs.push(await files.createDir(inst, { dirId: top._id, name: `d${d}` }));
  process.stderr.write(`filling ${DIRS} x ${FILES_PER_DIR} files\n`);
  for (let f = 0; f < FILES_PER_DIR; f++) {
    for (const dir of dirs) await files.createFile(inst, { dirId: dir._id, name: `f${f}.bin`, size: 3000 }, body());
  }
  let n = 0;
  const ops: Record<string, () => Promise<unknown>> = {
    'statByPath, a file': () => files.statByPath(inst, `/small/d${n % DIRS}/f${n % FILES_PER_DIR}.bin`),
    'statByPath, a directory': () => files.statByPath(inst, `/small/d${n % DIRS}`),
    'statByPath, a missing file': () => files.statByPath(inst, `/small/d${n % DIRS}/nope${n}.bin`).catch(() => null),
    'stat by id (a directory)': () => files.stat(inst, dirs[n % DIRS]!._id),
    'listDir, 50 entries': () => files.listDir(inst, dirs[n % DIRS]!._id, { limit: 100 }),
    'createFile, 3 KB': () => files.createFile(inst, { dirId: dirs[n % DIRS]!._id, name: `new${n}.bin`, size: 3000 }, body()),
    'createDir': () => files.createDir(inst, { dirId: top._id, name: `nd${n}` }),
    'DAV OPTIONS (auth + routing only)': () => dav('OPTIONS', '/'),
    'DAV MKCOL of an existing directory (405)': () => dav('MKCOL', `/small/d${n % DIRS}/`),
    'DAV PROPFIND depth 0, a file': () => dav('PROPFIND', `/small/d${n % DIRS}/f${n % FILES_PER_DIR}.bin`, { depth: '0', 'content-type': 'application/xml' }, propfind),
    'DAV PROPFIND depth 1, 50+ entries': () => dav('PROPFIND', `/small/d${n % DIRS}/`, { depth: '1', 'content-type': 'application/xml' }, propfind),
    'DAV PUT of a new 3 KB file': () => dav('PUT', `/small/d${n % DIRS}/put${n}.bin`, { 'content-type': 'application/octet-stream' }, Buffer.alloc(3000, 9)),
    'DAV GET of a 3 KB file': () => dav('GET', `/small/d${n % DIRS}/f${n % FILES_PER_DIR}.bin`),
  };
  const rows: Array<Array<string | number>> = [];
  const raw: Record<string, { cpuMs: number[]; wallMs: number[] }> = {};
  for (const [name, op] of Object.entries(ops)) {
    if (values.only && !name.includes(values.only)) continue;
    const cpuMs: number[] = [];
    const wallMs: number[] = [];
    for (let i = 0; i < REPS; i++, n++) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await op();
      wallMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpuMs.push((c.user + c.system) / 1000);
    }
    raw[name] = { cpuMs, wallMs };
    const c = summarize(cpuMs);
    const w = summarize(wallMs);
    rows.push([name, fmt(c.mean), fmt(c.p50), fmt(w.p50), fmt(w.p99)]);
  }
  process.stdout.write(`VFS operations in process (${DIRS} x ${FILES_PER_DIR} files, ${REPS} each)\n\n`);
  process.stdout.write(`${table(['operation', 'CPU mean ms', 'CPU p50 ms', 'wall p50 ms', 'wall p99 ms'], rows)}\n\n`);
  printJson('webdav-profile', { dirs: DIRS, files: FILES_PER_DIR, reps: REPS, ops: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, { cpu: summarize(v.cpuMs), wall: summarize(v.wallMs) }])) });
} finally {
  await tk.close();
}
