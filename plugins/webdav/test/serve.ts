/**
 * Starts a test kernel with files + vfs-local + webdav and prints `URL PASSWORD` on one line, then serves until
 * killed: for running real clients (litmus, rclone, cadaver) against the plugin by hand.
 *   node --import tsx --import reflect-metadata plugins/webdav/test/serve.ts
 */
import { startWebdav } from './helpers.ts';

const closers: Array<() => unknown> = [];
const env = await startWebdav({ teardown: (fn) => closers.push(fn) });
process.stdout.write(`${env.url} ${env.password}\n`);
const stop = async () => {
  for (const fn of closers.reverse()) await fn();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
