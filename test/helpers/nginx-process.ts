import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from './processes.ts';

const NGINX = ['/usr/sbin/nginx', 'nginx'];

function nginxBinary(): string | null {
  return NGINX.find((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0) ?? null;
}

/** Why nginx tests cannot run here, or null when they can (Debian's `nginx-light` is enough). */
export function nginxUnavailableReason(): string | null {
  return nginxBinary() ? null : 'nginx is not installed: `apt-get install -y nginx-light` to run the reverse-proxy tests.';
}

export interface NginxServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * nginx in front of the given cozy processes with the repository's own proxy config (deploy/nginx), so what
 * the deployment guide ships is what the tests exercise. Plain HTTP on 127.0.0.1; everything in a temp dir.
 */
export async function startNginx(upstreamPorts: number[]): Promise<NginxServer> {
  const bin = nginxBinary();
  if (!bin) throw new Error(nginxUnavailableReason() ?? 'no nginx');
  const dir = await mkdtemp(join(tmpdir(), 'cozy-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub));
  const port = await freePort();
  const deploy = join(repoRoot, 'deploy/nginx');
  const conf = [
    // As root, workers would otherwise drop to `nobody` and lose access to this temp dir.
    process.getuid?.() === 0 ? 'user root;' : '',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 256; }',
    'http {',
    '  access_log off;',
    ...['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((s) => `  ${s === 'body' ? 'client_body' : s}_temp_path ${dir}/${s};`),
    `  include ${deploy}/cozy-http.conf;`,
    `  upstream cozy { ${upstreamPorts.map((p) => `server 127.0.0.1:${p};`).join(' ')} keepalive 16; }`,
    `  server { listen 127.0.0.1:${port}; location / { include ${deploy}/cozy-proxy.conf; } }`,
    '}',
  ].join('\n');
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const listening = await fetch(`http://127.0.0.1:${port}/status`).then(() => true, () => false);
    if (listening) return { port, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`nginx did not start: ${stderr}`);
}
