import type { FastifyInstance } from 'fastify';
import { ensureAdminPassphraseHash, adminPassphrasePaths } from '../auth/admin-passphrase.ts';
import { buildAdminServer } from '../http/admin-server.ts';
import { closeDraining } from '../http/drain.ts';
import type { ResolvedConfig } from './config.ts';
import { createLogger, Kernel } from './kernel.ts';

/** Listens, turning the usual failures into a sentence that says what to change. */
async function listenOrExplain(app: FastifyInstance, host: string, port: number, envName: string): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is already in use: stop what uses it or set ${envName}`, { cause: err });
    if (code === 'EACCES') throw new Error(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges): set ${envName}`, { cause: err });
    if (code === 'EADDRNOTAVAIL') throw new Error(`${host} is not an address of this machine`, { cause: err });
    throw err;
  }
}

export interface Server {
  kernel: Kernel;
  admin: FastifyInstance;
  /** The address the public server listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  adminUrl: string;
  /** Resolves once plugins have started (later than listen() when the store was down at boot). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Boots and listens: the public server and the admin API. The public server listens before plugins start so a
 * store that is down at boot yields 503s and a 502 /status instead of a process that never comes up.
 */
export async function serve(config: ResolvedConfig, opts: { env?: Record<string, string | undefined>; handleSignals?: boolean } = {}): Promise<Server> {
  const log = createLogger(config.log.level);
  const serveCalled = Math.round(process.uptime() * 1000);
  const kernel = await Kernel.boot({ config, log, env: opts.env });
  kernel.phases.serveCalled = serveCalled;
  // The public server comes first: making the admin passphrase on a first start costs a scrypt hash, which
  // runs in the thread pool meanwhile instead of delaying the first answer.
  const url = await listenOrExplain(kernel.app, config.http.host, config.http.port, 'COZY_HTTP_PORT').catch(async (err: unknown) => {
    await kernel.stop();
    throw err;
  });
  kernel.phases.listening = Math.round(process.uptime() * 1000);
  const ready = (async () => {
    await kernel.start();
    kernel.phases.started = Math.round(process.uptime() * 1000);
    // Where a start's time went (milliseconds since the process began; start:<id> is each plugin's own start()).
    log.debug({ phases: kernel.phases, memory: process.memoryUsage() }, 'boot phases');
    if (config.defaultInstance && (await kernel.instances.count()) === 0) {
      const inst = await kernel.instances.create({ domain: config.defaultInstance });
      const link = `http://${inst.domain}/?registerToken=${inst.register_token}`;
      log.info({ domain: inst.domain, onboarding: link }, 'created a first instance');
      process.stdout.write(`\nYour instance is ready: open ${link} to choose your passphrase.\n\n`);
    }
  })();

  ready.catch(() => undefined);

  let admin: FastifyInstance;
  let adminUrl: string;
  try {
    const { hash, generated } = await ensureAdminPassphraseHash(config.storage, config.admin.passphraseHash);
    if (generated) {
      log.warn({ file: adminPassphrasePaths(config.storage).credential }, 'generated an admin passphrase for the CLI; only its hash is used by the server');
    }
    admin = await buildAdminServer({
      log,
      instances: kernel.instances,
      auth: kernel.auth,
      sessions: kernel.sessions,
      store: kernel.store,
      cluster: kernel.cluster,
      passphraseHash: hash,
      describePlugins: () => kernel.describePlugins(),
      plugins: kernel.mountedPlugins(),
    });
    adminUrl = await listenOrExplain(admin, config.admin.host, config.admin.port, 'COZY_ADMIN_PORT');
  } catch (err) {
    // An admin port already taken, an unreadable storage folder: stop what was started rather than half-serve.
    await kernel.stop();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await closeDraining(admin, config.shutdownTimeoutMs).catch(() => undefined);
      await kernel.stop();
    })());

  if (opts.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      // A second signal, or a stop that overruns every bound, ends the process anyway.
      const hard = setTimeout(() => process.exit(1), config.shutdownTimeoutMs * 2 + 1000);
      hard.unref();
      close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  ready.catch((err: unknown) => log.fatal({ err }, 'start failed'));
  return { kernel, admin, url, adminUrl, ready, close };
}
