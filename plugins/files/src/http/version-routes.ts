import type { FastifyInstance } from 'fastify';
import { FilesErrors, KernelErrors, isFile, readResource } from '@cozy-ts/kernel';
import { uniqueTags } from '../vfs/names.ts';
import { sendJsonApi, type RouteDeps } from './deps.ts';
import { ifMatch } from './params.ts';
import { renderEntry } from './render.ts';
import { versionResource } from './serialize.ts';

interface VersionParams {
  id: string;
  versionId: string;
}

/** Old versions: revert, retag, delete one, delete all (cozy-stack's routes and permission verbs). */
export function registerVersionRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.post<{ Params: VersionParams }>('/revert/:id/:versionId', async (req, reply) => {
    const caller = await d.access.caller(req);
    const file = await d.svc.stat(caller.inst, req.params.id);
    if (!isFile(file)) throw FilesErrors.notFound();
    await d.access.allow(req, 'PUT', file);
    const doc = await d.svc.revertVersion(caller.inst, `${file._id}/${req.params.versionId}`, { ifMatch: ifMatch(req), actor: caller.actor });
    return sendJsonApi(reply, 200, await renderEntry(d, caller.inst, doc, { withVersions: true }));
  });

  app.patch<{ Params: VersionParams }>('/:id/:versionId', async (req, reply) => {
    const caller = await d.access.caller(req);
    const file = await d.svc.stat(caller.inst, req.params.id);
    if (!isFile(file)) throw FilesErrors.conflict();
    await d.access.allow(req, 'PATCH', file);
    const old = await d.svc.index.version(caller.inst, `${file._id}/${req.params.versionId}`);
    const { attributes } = readResource(req.body);
    if (!Array.isArray(attributes.tags) || attributes.tags.some((t) => typeof t !== 'string')) throw KernelErrors.invalidBody('tags must be an array of strings');
    const next = { ...old, tags: uniqueTags(attributes.tags), cozyMetadata: { ...(old.cozyMetadata ?? {}), updatedAt: new Date().toISOString() } };
    next._rev = await d.svc.index.updateVersion(caller.inst, next, old);
    return sendJsonApi(reply, 200, { data: versionResource(next) });
  });

  app.delete<{ Params: VersionParams }>('/:id/:versionId', async (req, reply) => {
    const caller = await d.access.caller(req);
    const file = await d.svc.stat(caller.inst, req.params.id);
    if (!isFile(file)) throw FilesErrors.conflict();
    await d.access.allow(req, 'DELETE', file);
    await d.svc.deleteVersion(caller.inst, `${file._id}/${req.params.versionId}`);
    return reply.status(204).send();
  });

  app.delete('/versions', async (req, reply) => {
    const caller = await d.access.allowWholeType(req, 'DELETE');
    await d.svc.deleteAllVersions(caller.inst);
    return reply.status(204).send();
  });
}
