import type { FastifyInstance } from 'fastify';
import { AUTH, STORE, acceptJsonApi, setErrorFamily, type RouteOptions } from '@cozy-ts/kernel';
import { changesRoutes } from './changes-routes.ts';
import { collectionRoutes } from './collection-routes.ts';
import type { DataConfig } from './config.ts';
import { dataErrorRenderer } from './data-errors.ts';
import { designRoutes } from './design-routes.ts';
import { docRoutes } from './doc-routes.ts';
import { loadAccountCrypto } from './credential-keys.ts';
import { dataServices } from './http-context.ts';
import { referenceRoutes } from './reference-routes.ts';
import { replicationRoutes } from './replication-routes.ts';

/**
 * Mounted at /data. Route files register the specific paths (`_all_docs`, `_design/...`) as well as the generic
 * `/:doctype/:docid`; fastify prefers static segments, so `_find` never reaches the document routes.
 */
export async function dataRoutes(app: FastifyInstance, { ctx }: RouteOptions<DataConfig>): Promise<void> {
  setErrorFamily(app, dataErrorRenderer);
  const bodyLimit = ctx.config.bodyLimit;
  if (bodyLimit !== undefined) {
    app.addHook('onRoute', (route) => {
      route.bodyLimit ??= bodyLimit;
    });
  }
  // The relationship routes take JSON:API bodies, sent as such (cozy-client, the desktop client).
  acceptJsonApi(app);

  const services = dataServices(ctx.use(STORE), ctx.use(AUTH), await loadAccountCrypto(ctx.config, ctx.paths));
  collectionRoutes(app, services);
  changesRoutes(app, services);
  designRoutes(app, services);
  referenceRoutes(app, services);
  replicationRoutes(app);
  docRoutes(app, services);
}
