/**
 * Starts a test kernel with files + vfs-local + webdav and prints `URL PASSWORD` on one line, then serves until
 * killed: for running real clients (litmus, rclone, cadaver) against the plugin by hand. `--no-fsync` turns off
 * vfs-local's fsync before a content becomes visible (the durability of Apache's mod_dav and cozy-stack).
 *   node --import tsx --import reflect-metadata plugins/webdav/test/serve.ts [--no-fsync]
 */
import { startWebdav } from './helpers.ts';

const closers: Array<() => unknown> = [];
const vfs = process.argv.includes('--no-fsync') ? { '@cozy-ts/plugin-vfs-local': { fsync: false } } : {};
const env = await startWebdav({ teardown: (fn) => closers.push(fn) }, {}, {}, vfs);
process.stdout.write(`${env.url} ${env.password}\n`);
const stop = async () => {
  for (const fn of closers.reverse()) await fn();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
