import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { freePort } from './processes.ts';

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  /** Kills the server and waits until it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A throw-away redis-server: no persistence, loopback only, gone with the test. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const listenOn = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(listenOn), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
    const settle = (err?: Error): void => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) settle();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (err: NodeJS.ErrnoException) =>
      settle(
        err.code === 'ENOENT'
          ? new Error(
              'redis-server is not installed, so the Redis cluster tests cannot run. Install it ' +
                '(apt-get install -y redis-server) or point COZY_TEST_REDIS_URL at a running Redis.',
            )
          : err,
      ),
    );
    child.once('exit', (code, signal) => settle(new Error(`redis-server exited early (${code ?? signal}):\n${output}`)));
  });
  await ready;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `redis://127.0.0.1:${listenOn}`,
    port: listenOn,
    pid: child.pid ?? -1,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

