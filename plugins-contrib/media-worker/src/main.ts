#!/usr/bin/env -S node --import tsx
import { probe } from './media.ts';
import { ExternalWorker } from './worker.ts';

/**
 * `cozy-media-worker`: COZY_URL (the server), COZY_WORKER_TOKEN (its jobs plugin's external.token) and
 * COZY_WORKER_TYPE (default `media`). One line of JSON per event on stdout; SIGTERM finishes nothing and leaves:
 * the unfinished job's lease lapses and the server hands it out again.
 */
const server = process.env.COZY_URL;
const token = process.env.COZY_WORKER_TOKEN;
if (!server || !token) {
  process.stderr.write('COZY_URL and COZY_WORKER_TOKEN are required\n');
  process.exit(2);
}
const log = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
const worker = new ExternalWorker({
  server,
  token,
  worker: process.env.COZY_WORKER_TYPE ?? 'media',
  waitSeconds: 5,
  log,
  async handle(job, signal) {
    const result = await probe(job, signal);
    log({ msg: 'probed', id: job.id, domain: job.domain, ...result });
  },
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => {
  worker.stop();
  process.exit(0);
});
await worker.run();
