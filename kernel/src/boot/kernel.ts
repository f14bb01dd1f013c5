import 'reflect-metadata';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { AuthService } from '../auth/auth-service.ts';
import { DevicePasswordService } from '../auth/device-passwords.ts';
import { SessionService } from '../auth/sessions.ts';
import { AUTH, CLUSTER, DEVICE_PASSWORDS, DOC_EVENTS, INSTANCES, KERNEL_CAPABILITIES, SESSIONS, STORE } from '../capabilities/kernel-services.ts';
import { PermissionDocService } from '../permissions/permission-docs.ts';
import { createClusterPorts } from '../cluster/index.ts';
import type { ClusterPorts } from '../cluster/types.ts';
import { DocEventBus } from '../events/doc-events.ts';
import { buildHttpServer, type MountedPlugin } from '../http/server.ts';
import { closeDraining } from '../http/drain.ts';
import { withTimeout } from '../with-timeout.ts';
import type { HealthCheck } from '../http/status-routes.ts';
import { InstanceService } from '../instances/instance-service.ts';
import type { PluginContext } from '../plugin-api.ts';
import { createStoreAdapter } from '../store/create-adapter.ts';
import { DocumentStore } from '../store/document-store.ts';
import { enableLinearRegexpFallback } from '../store/regex-guard.ts';
import type { StoreAdapter } from '../store/types.ts';
import { BootError } from './boot-error.ts';
import type { ResolvedConfig } from './config.ts';
import { createPluginContext } from './plugin-context.ts';
import { loadPlugins, type LoadedPlugin } from './load-plugins.ts';

export interface KernelOptions {
  config: ResolvedConfig;
  log?: Logger;
  env?: Record<string, string | undefined>;
  /** Tests inject adapters; otherwise made from the config. */
  storeAdapter?: StoreAdapter;
  cluster?: ClusterPorts;
}

interface RunningPlugin extends MountedPlugin {
  packageName: string;
  started: boolean;
}

const uptimeMs = () => Math.round(process.uptime() * 1000);

export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * The running kernel: services, plugins and the HTTP server. `boot` checks everything and wires plugins
 * (register: no I/O); `start` does I/O in dependency order; `stop` undoes it in reverse, bounded in time.
 */
export class Kernel {
  readonly log: Logger;
  readonly events: DocEventBus;
  readonly store: DocumentStore;
  readonly instances: InstanceService;
  readonly app: FastifyInstance;
  readonly auth: AuthService;
  readonly sessions: SessionService;
  #stopping?: Promise<void>;
  #storeWait?: NodeJS.Timeout;

  private constructor(
    readonly config: ResolvedConfig,
    readonly cluster: ClusterPorts,
    readonly container: DependencyContainer,
    private readonly plugins: RunningPlugin[],
    deps: { log: Logger; events: DocEventBus; store: DocumentStore; instances: InstanceService; app: FastifyInstance; auth: AuthService; sessions: SessionService },
  ) {
    this.log = deps.log;
    this.events = deps.events;
    this.store = deps.store;
    this.instances = deps.instances;
    this.app = deps.app;
    this.auth = deps.auth;
    this.sessions = deps.sessions;
  }

  /** Milliseconds since process start at each step of boot and start (`cozy serve` logs them at debug level). */
  readonly phases: Record<string, number> = {};

  static async boot(opts: KernelOptions): Promise<Kernel> {
    // Before any client-chosen `$regex` is compiled: see regex-guard.ts.
    enableLinearRegexpFallback();
    const { config } = opts;
    const phases: Record<string, number> = { bootCalled: uptimeMs() };
    const log = opts.log ?? createLogger(config.log.level);
    const loaded = await loadPlugins(config, opts.env);
    phases.pluginsLoaded = uptimeMs();

    const cluster = opts.cluster ?? (await createClusterPorts({ redis: config.redis }));
    const adapter = opts.storeAdapter ?? (await createStoreAdapter(config.store));
    const events = new DocEventBus(log.child({ component: 'doc-events' }));
    const store = new DocumentStore(adapter, events);
    const instances = new InstanceService(store, cluster, log.child({ component: 'instances' }));
    const sessions = new SessionService(store);
    const devices = new DevicePasswordService(store, { cluster, events });
    const permissions = new PermissionDocService(store);
    const auth = new AuthService(store, sessions, devices, () => permissions, events, cluster);

    const container = rootContainer.createChildContainer();
    container.register(STORE.token, { useValue: store });
    container.register(CLUSTER.token, { useValue: cluster });
    container.register(INSTANCES.token, { useValue: instances });
    container.register(DOC_EVENTS.token, { useValue: events });
    container.register(AUTH.token, { useValue: auth });
    container.register(SESSIONS.token, { useValue: sessions });
    container.register(DEVICE_PASSWORDS.token, { useValue: devices });

    const kernelCaps = new Set(KERNEL_CAPABILITIES.map((c) => c.id));
    const running: RunningPlugin[] = loaded.plugins.map((p: LoadedPlugin) => ({
      packageName: p.packageName,
      plugin: p.plugin,
      ctx: createPluginContext(p.plugin, p.config, {
        root: container,
        log,
        kernelCapabilities: kernelCaps,
        paths: { storage: config.storage, configDir: config.baseDir },
      }),
      started: false,
    }));

    const problems = [];
    for (const p of running) {
      try {
        p.plugin.register?.(p.ctx);
      } catch (err) {
        problems.push({ subject: p.packageName, message: `register() threw: ${(err as Error).message}` });
      }
    }
    if (problems.length > 0) {
      await Promise.allSettled([cluster.close(), adapter.close()]);
      throw new BootError(problems);
    }

    phases.pluginsRegistered = uptimeMs();
    const kernelRef: { current?: Kernel } = {};
    const app = await buildHttpServer({
      log,
      bodyLimit: config.http.bodyLimit,
      trustProxy: config.http.trustProxy,
      instances,
      authDeps: { instances, store, cluster, sessions, auth, devices, permissions, log },
      plugins: running,
      healthChecks: () => kernelRef.current?.healthChecks() ?? [],
    });
    const kernel = new Kernel(config, cluster, container, running, { log, events, store, instances, app, auth, sessions });
    kernelRef.current = kernel;
    phases.httpBuilt = uptimeMs();
    Object.assign(kernel.phases, phases);
    return kernel;
  }

  /** Health checks behind /status: the store under cozy-stack's `couchdb` key, the cache, then every plugin. */
  healthChecks(): HealthCheck[] {
    const checks: HealthCheck[] = [
      { name: 'couchdb', run: () => this.store.adapter.ping() },
      { name: 'cache', run: () => this.cluster.cache.ping() },
    ];
    for (const p of this.plugins) {
      const health = p.plugin.health;
      if (!health) continue;
      checks.push({
        // cozy-stack reports its file storage as `fs`; the plugin providing `vfs` answers under that name.
        name: (p.plugin.manifest.provides ?? []).some((c) => c.id === 'vfs') ? 'fs' : p.plugin.manifest.id,
        run: async () => {
          if (!p.started) return { status: 'down', detail: 'not started' };
          return health(p.ctx);
        },
      });
    }
    return checks;
  }

  /**
   * Starts services then plugins in dependency order. When the store cannot be reached, the kernel keeps
   * serving (routes that need the store answer 503, /status 502) and finishes starting once it answers,
   * instead of exiting into a supervisor's crash loop.
   */
  async start(): Promise<void> {
    try {
      await this.store.adapter.ping();
    } catch (err) {
      this.log.error({ err }, 'the document store cannot be reached; serving 503 until it answers');
      await new Promise<void>((resolve) => {
        const retry = () => {
          this.store.adapter.ping().then(
            () => resolve(),
            () => {
              if (!this.#stopping) this.#storeWait = setTimeout(retry, 1000);
            },
          );
        };
        this.#storeWait = setTimeout(retry, 1000);
      });
      this.log.info('the document store answers again; starting');
    }
    await this.startServices();
  }

  /** Like start(), but returns at once and finishes in the background when the store is down. */
  startInBackground(onError: (err: unknown) => void): void {
    this.start().catch(onError);
  }

  private async startServices(): Promise<void> {
    this.phases.startCalled = uptimeMs();
    await this.instances.start();
    await this.auth.start();
    this.phases.servicesStarted = uptimeMs();
    for (const p of this.plugins) {
      if (this.#stopping) return;
      try {
        const t0 = uptimeMs();
        await p.plugin.start?.(p.ctx);
        this.phases[`start:${p.plugin.manifest.id}`] = uptimeMs() - t0;
        p.started = true;
      } catch (err) {
        this.log.error({ err, plugin: p.packageName }, 'plugin failed to start');
        await this.stop();
        throw new BootError([{ subject: p.packageName, message: `start() failed: ${(err as Error).message}` }]);
      }
    }
  }

  /** Stops plugins in reverse start order, each bounded by shutdownTimeoutMs, then the server and services. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#doStop();
    return this.#stopping;
  }

  async #doStop(): Promise<void> {
    clearTimeout(this.#storeWait);
    const bound = this.config.shutdownTimeoutMs;
    await closeDraining(this.app, bound).catch((err: unknown) => this.log.warn({ err }, 'HTTP close'));
    for (const p of [...this.plugins].reverse()) {
      if (!p.started || !p.plugin.stop) continue;
      p.started = false;
      try {
        await withTimeout(p.plugin.stop(p.ctx as PluginContext<Record<string, unknown>>), bound, `plugin ${p.packageName} stop()`);
      } catch (err) {
        this.log.error({ err, plugin: p.packageName }, 'plugin stop failed or hung; moving on');
      }
    }
    await withTimeout(this.instances.stop(), bound, 'instances').catch(() => undefined);
    await withTimeout(this.auth.stop(), bound, 'auth').catch(() => undefined);
    await withTimeout(this.cluster.close(), bound, 'cluster').catch((err: unknown) => this.log.warn({ err }, 'cluster close'));
    await withTimeout(this.store.adapter.close(), bound, 'store').catch((err: unknown) => this.log.warn({ err }, 'store close'));
  }

  /** Every plugin with its context, for servers that mount plugin hooks beside the main one (the admin API). */
  mountedPlugins(): MountedPlugin[] {
    return this.plugins.map(({ plugin, ctx }) => ({ plugin, ctx }));
  }

  /** Names of running plugins with what they provide and require (for `cozy plugins ls` against a server). */
  describePlugins(): Array<{ package: string; id: string; version: string; started: boolean }> {
    return this.plugins.map((p) => ({ package: p.packageName, id: p.plugin.manifest.id, version: p.plugin.manifest.version, started: p.started }));
  }
}
