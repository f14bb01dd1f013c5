import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { InstanceService } from '../instances/instance-service.ts';
import type { CozyPlugin, PluginContext } from '../plugin-api.ts';
import { authRoutes } from './auth/index.ts';
import type { AuthRouteDeps } from './auth/deps.ts';
import { clientErrorHandler, frameworkErrorHandler } from './client-errors.ts';
import { jsonApiRenderer, setErrorFamily } from './error-edge.ts';
import { instanceResolution } from './instance-resolution.ts';
import { jsonDepthGuard } from './json-depth.ts';
import { statusRoutes, type HealthCheck } from './status-routes.ts';

export interface MountedPlugin {
  plugin: CozyPlugin<Record<string, unknown>>;
  ctx: PluginContext<Record<string, unknown>>;
}

export interface HttpServerOptions {
  log: Logger;
  bodyLimit: number;
  trustProxy: boolean;
  instances: InstanceService;
  authDeps: AuthRouteDeps;
  plugins: MountedPlugin[];
  healthChecks: () => HealthCheck[];
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the public HTTP server: kernel infrastructure first, then each plugin's routes under its prefix. */
export async function buildHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.log as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    trustProxy: opts.trustProxy,
    // A client-sent id is kept when it is sane, so logs join up across a reverse proxy.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1000 },
    forceCloseConnections: 'idle',
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  setErrorFamily(app, jsonApiRenderer);
  // On the root before any route is declared, so every plugin's routes inherit it.
  app.addHook('preValidation', jsonDepthGuard);
  await app.register(instanceResolution, { instances: opts.instances });
  await app.register(statusRoutes, { checks: opts.healthChecks });
  await app.register(authRoutes, opts.authDeps);

  for (const { plugin, ctx } of opts.plugins) {
    if (plugin.rootRoutes) {
      const rootRoutes = plugin.rootRoutes;
      await app.register(async (scoped) => rootRoutes(scoped, { ctx }));
    }
    if (plugin.routes && plugin.manifest.prefix) {
      await app.register(plugin.routes, { prefix: plugin.manifest.prefix, ctx });
    }
  }
  return app;
}
