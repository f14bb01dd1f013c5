import type { FastifyInstance } from 'fastify';
import { INSTANCES, STORE, VFS, type RouteOptions } from '@cozy-ts/kernel';
import type { FilesConfig } from '../config.ts';
import { fsckOptionsFrom, fsckStream } from './routes.ts';

/**
 * cozy-stack's admin `GET /instances/:domain/fsck` (what `cozy instances fsck` reads): every anomaly kind, one
 * JSON per line, with `IndexIntegrity`, `FilesConsistency` and `FailFast`. The admin server checks the passphrase
 * before this runs; an unknown domain is the kernel's 404.
 */
export async function fsckAdminRoutes(app: FastifyInstance, { ctx }: RouteOptions<FilesConfig>): Promise<void> {
  const deps = { store: ctx.use(STORE), vfs: ctx.use(VFS), log: ctx.log };
  const instances = ctx.use(INSTANCES);
  app.get<{ Params: { domain: string }; Querystring: Record<string, unknown> }>('/instances/:domain/fsck', async (req, reply) => {
    const inst = await instances.get(req.params.domain);
    return reply.type('application/x-ndjson').send(fsckStream(deps, inst, fsckOptionsFrom(req.query)));
  });
}
