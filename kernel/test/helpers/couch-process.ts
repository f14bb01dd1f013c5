import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVER_SCRIPT = fileURLToPath(new URL('./couch-server.cjs', import.meta.url));

export interface CouchProcess {
  url: string;
  port: number;
  /** Kills the server (SIGTERM) and removes its folder; idempotent. */
  stop(): Promise<void>;
}

function waitForListening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`couch-server did not start: ${out}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`couch-server exited with ${code}: ${out}`));
    });
  });
}

async function waitUntilAnswering(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await fetch(url).then((res) => res.ok, () => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} does not answer`);
}

/** A CouchDB-protocol server (express-pouchdb, in memory) on 127.0.0.1; `port` 0 lets the OS pick. */
export async function startCouchServer(opts: { port?: number } = {}): Promise<CouchProcess> {
  const data = await mkdtemp(path.join(tmpdir(), 'cozy-couch-'));
  const child = spawn(process.execPath, [SERVER_SCRIPT], {
    env: { ...process.env, PORT: String(opts.port ?? 0), DATA: data },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(data, { recursive: true, force: true });
    })());
  try {
    const url = await waitForListening(child);
    await waitUntilAnswering(url);
    return { url, port: Number(new URL(url).port), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
