/**
 * A throw-away OpenStack Swift all-in-one for tests and benchmarks, from Debian's packages (swift, swift-proxy,
 * swift-object, swift-container, swift-account, python3-swiftclient, memcached): one replica on one device in a
 * temporary folder, tempauth (`test:tester` / `testing`), every server on a free 127.0.0.1 port. Nothing is
 * written outside the temporary folder (the servers get `swift_dir` pointing into it) and everything started is
 * stopped by `stop()`, which the caller registers with `t.teardown`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.ts';

export interface SwiftServer {
  /** The tempauth v1.0 endpoint: `http://127.0.0.1:<port>/auth/v1.0`. */
  authUrl: string;
  user: string;
  key: string;
  /** The proxy's base URL, `http://127.0.0.1:<port>`. */
  proxyUrl: string;
  /** The account's storage URL tempauth hands out for `user`. */
  storageUrl: string;
  /** memcached, where tempauth keeps its tokens: a test can delete one to see a client renew it. */
  memcachedPort: number;
  /** Where the rings, configs, device and logs are. */
  dir: string;
  /** The proxy's process (with the other servers in it unless started as daemons): kill it and Swift is down. */
  proxy: ChildProcess;
  /** Stops every process, waits until they are gone and removes the folder. Idempotent. */
  stop(): Promise<void>;
}

const BINARIES = ['swift-proxy-server', 'swift-object-server', 'swift-container-server', 'swift-account-server', 'memcached'];
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
export const SWIFT_APT_PACKAGES = 'swift swift-proxy swift-object swift-container swift-account python3-swiftclient memcached';

/** The Swift binaries this machine lacks (empty when a Swift all-in-one can run here). */
export function missingSwiftBinaries(): string[] {
  const missing = BINARIES.filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing.length === 0 && spawnSync(PYTHON, ['-c', 'import swift.common.ring']).status !== 0) missing.push('python3 swift module');
  return missing;
}

/**
 * Why Swift tests cannot run here, or null when they can. In CI (`CI=true`) a missing Swift is a failure the
 * caller reports; elsewhere the caller skips with this reason.
 */
export function swiftUnavailableReason(): string | null {
  const missing = missingSwiftBinaries();
  if (missing.length === 0) return null;
  return `OpenStack Swift is not installed (missing: ${missing.join(', ')}). Install it with ` +
    `\`apt-get install -y ${SWIFT_APT_PACKAGES}\` to run the Swift tests.`;
}

export const inCi = (): boolean => process.env.CI === 'true' || process.env.CI === '1';

const RINGS_SCRIPT = `
import sys
from swift.common.ring import RingBuilder
# One process for the three rings: swift-ring-builder costs about a second per call.
for name, port in zip(('object', 'container', 'account'), sys.argv[1:4]):
    b = RingBuilder(8, 1, 1)
    b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port),
               'replication_ip': '127.0.0.1', 'replication_port': int(port), 'device': 'd1', 'weight': 100, 'meta': ''})
    b.rebalance()
    b.get_ring().save(name + '.ring.gz')
`;

function serverConf(dir: string, port: number, user: string, app: string, sections: string[]): string {
  return [
    '[DEFAULT]', 'bind_ip = 127.0.0.1', `bind_port = ${port}`, 'workers = 0', `user = ${user}`,
    `swift_dir = ${join(dir, 'etc')}`, `devices = ${join(dir, 'srv')}`, 'mount_check = false',
    'log_address = /dev/null', 'log_level = WARNING', '',
    '[pipeline:main]', `pipeline = ${app}-server`, '',
    `[app:${app}-server]`, `use = egg:swift#${app}`, '',
    ...sections.map((s) => `[${s}]`), '',
  ].join('\n');
}

function proxyConf(dir: string, port: number, user: string, memcachedPort: number): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${user}
swift_dir = ${join(dir, 'etc')}
log_address = /dev/null
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
token_life = 86400

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachedPort}

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
`;
}

/**
 * The four Swift WSGI apps (account, container, object, proxy) served from one Python process, each on its own
 * socket, as Swift's own in-process functional tests do: the same apps and pipeline as the daemons, for a quarter
 * of the start-up CPU (each daemon spends seconds importing swift and eventlet, which on a busy 2-core machine
 * made a start take 20 s and more).
 */
const ALL_IN_ONE_SCRIPT = `
import os, sys
os.environ['TZ'] = 'UTC+0'
import eventlet, eventlet.wsgi
from swift.common import utils
from swift.common.wsgi import loadapp
from swift.common.http_protocol import SwiftHttpProtocol
utils.eventlet_monkey_patch()
etc = sys.argv[1]
utils.set_swift_dir(etc)
utils.validate_configuration()
servers = []
for spec in sys.argv[2:]:
    name, port = spec.split('=')
    app = loadapp(os.path.join(etc, name + '-server.conf'), global_conf={'log_name': name})
    sock = eventlet.listen(('127.0.0.1', int(port)))
    servers.append(eventlet.spawn(eventlet.wsgi.server, sock, app, utils.NullLogger(),
                                  custom_pool=eventlet.GreenPool(1024), protocol=SwiftHttpProtocol,
                                  socket_timeout=60, capitalize_response_headers=False))
print('listening', flush=True)
for s in servers:
    s.wait()
`;

interface Started {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function launch(name: string, command: string, args: string[]): Started {
  // greendns pulls in dnspython (about a second of start-up per server); the servers only talk to 127.0.0.1.
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, EVENTLET_NO_GREENDNS: 'yes' } });
  let output = '';
  const keep = (chunk: Buffer) => {
    // The tail is what explains a failure; a chatty server must not grow the test's memory.
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      output += `\n${err.message}`;
      resolve();
    });
  });
  return { name, child, exited, output: () => output };
}

async function stopAll(started: Started[]): Promise<void> {
  await Promise.all(started.map(async (s) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null || s.child.pid === undefined) return;
    s.child.kill('SIGTERM');
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 3000);
    await s.exited;
    clearTimeout(timer);
  }));
}

async function authenticate(authUrl: string): Promise<{ token: string; storageUrl: string } | string> {
  const res = await fetch(authUrl, { headers: { 'x-auth-user': 'test:tester', 'x-auth-key': 'testing' } }).catch((err: Error) => `auth: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  if (typeof res === 'string') return res;
  if (res.status !== 200) return `auth: ${res.status}`;
  const token = res.headers.get('x-auth-token');
  const storageUrl = res.headers.get('x-storage-url');
  return token && storageUrl ? { token, storageUrl } : 'auth: no token';
}

/**
 * Builds the rings and configs in a new temporary folder, starts memcached and the four Swift servers, and
 * resolves once an authenticated account request works (the proxy answers before its backends are ready).
 * Without `daemons`, the four servers run in one Python process (see ALL_IN_ONE_SCRIPT).
 * Throws with the reason (and the servers' output) when Swift is missing or does not come up in `timeoutMs`.
 */
export interface SwiftStartOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /**
   * One daemon per server (swift-proxy-server, swift-object-server...), as in production: slower to start, but
   * the proxy and the object server then use two cores. Benchmarks want it; tests do not (default: one process).
   */
  daemons?: boolean;
  /**
   * Where the device lives: `memory` (/dev/shm, when it takes the user xattrs Swift keeps its metadata in; the
   * OS temp folder otherwise) or `disk` (the OS temp folder). Default: memory, for tests; fsyncs there cost nothing.
   * Benchmarks comparing with a disk want `disk`.
   */
  storage?: 'memory' | 'disk';
}

/** /dev/shm when Swift can keep its metadata there (user xattrs on tmpfs: Linux 6.6 and later). */
function memoryFolder(): string | null {
  const probe = spawnSync(PYTHON, ['-c', [
    'import os, tempfile',
    "fd, p = tempfile.mkstemp(dir='/dev/shm')",
    'os.close(fd)',
    'try:',
    "    os.setxattr(p, 'user.swift.metadata', b'x' * 2048)",
    'finally:',
    '    os.unlink(p)',
  ].join('\n')]);
  return probe.status === 0 ? '/dev/shm' : null;
}

export async function startSwiftServer(opts: SwiftStartOptions = {}): Promise<SwiftServer> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const reason = swiftUnavailableReason();
  if (reason) throw new Error(reason);
  const base = opts.storage === 'disk' ? tmpdir() : memoryFolder() ?? tmpdir();
  const dir = await mkdtemp(join(base, 'cozy-swift-'));
  const started: Started[] = [];
  const stop = async () => {
    await stopAll(started.splice(0));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const user = userInfo().username;
    const [proxyPort, objectPort, containerPort, accountPort, memcachedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const etc = join(dir, 'etc');
    await mkdir(etc, { recursive: true });
    await mkdir(join(dir, 'srv', 'd1'), { recursive: true });
    await writeFile(join(etc, 'swift.conf'), [
      '[swift-hash]', 'swift_hash_path_suffix = cozy-ts-test', 'swift_hash_path_prefix = cozy-ts-test', '',
      '[storage-policy:0]', 'name = Policy-0', 'default = yes', '',
    ].join('\n'));
    await writeFile(join(etc, 'object-server.conf'), serverConf(dir, objectPort, user, 'object', ['object-replicator', 'object-updater', 'object-auditor']));
    await writeFile(join(etc, 'container-server.conf'), serverConf(dir, containerPort, user, 'container', ['container-replicator', 'container-updater', 'container-auditor', 'container-sync']));
    await writeFile(join(etc, 'account-server.conf'), serverConf(dir, accountPort, user, 'account', ['account-replicator', 'account-auditor', 'account-reaper']));
    await writeFile(join(etc, 'proxy-server.conf'), proxyConf(dir, proxyPort, user, memcachedPort));
    const rings = spawnSync(PYTHON, ['-c', RINGS_SCRIPT, String(objectPort), String(containerPort), String(accountPort)], { cwd: etc, encoding: 'utf8' });
    if (rings.status !== 0) throw new Error(`building the Swift rings failed:\n${rings.stderr}`);

    // memcached refuses to run as root unless told which user to become.
    const mcArgs = ['-l', '127.0.0.1', '-p', String(memcachedPort), '-U', '0', '-m', '16'];
    if (process.getuid?.() === 0) mcArgs.push('-u', user);
    started.push(launch('memcached', 'memcached', mcArgs));
    let proxy: Started;
    if (opts.daemons) {
      for (const s of ['account', 'container', 'object']) started.push(launch(s, `swift-${s}-server`, [join(etc, `${s}-server.conf`)]));
      proxy = launch('proxy', 'swift-proxy-server', [join(etc, 'proxy-server.conf')]);
    } else {
      const ports = [`account=${accountPort}`, `container=${containerPort}`, `object=${objectPort}`, `proxy=${proxyPort}`];
      proxy = launch('swift', PYTHON, ['-c', ALL_IN_ONE_SCRIPT, etc, ...ports]);
    }
    started.push(proxy);

    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const authUrl = `${proxyUrl}/auth/v1.0`;
    const deadline = Date.now() + timeoutMs;
    let state = 'not probed';
    while (Date.now() < deadline) {
      const dead = started.find((s) => s.child.exitCode !== null || s.child.signalCode !== null);
      if (dead) throw new Error(`swift ${dead.name} exited early:\n${dead.output()}`);
      const auth = await authenticate(authUrl);
      if (typeof auth === 'string') state = auth;
      else {
        const head = await fetch(auth.storageUrl, { method: 'HEAD', headers: { 'x-auth-token': auth.token } }).catch(() => null);
        state = `account HEAD: ${head?.status ?? 'no answer'}`;
        if (head && head.status < 300) {
          return { authUrl, user: 'test:tester', key: 'testing', proxyUrl, storageUrl: auth.storageUrl, memcachedPort, dir, proxy: proxy.child, stop };
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Swift did not come up within ${timeoutMs} ms (last probe: ${state}):\n${started.map((s) => `--- ${s.name}\n${s.output()}`).join('\n')}`);
  } catch (err) {
    await stop();
    throw err;
  }
}
