import type { FastifyInstance } from 'fastify';
import { AuthErrors, FilesErrors, TRASH_DIR_ID, isDir, isFile, type InstanceRef } from '@cozy-ts/kernel';
import { numberedName } from '../vfs/names.ts';
import { isUnderTrash } from '../vfs/entries.ts';
import { sendJsonApi, type RouteDeps } from './deps.ts';
import { ifMatch, param } from './params.ts';
import { dirPage } from './read-routes.ts';
import { renderEntries, renderEntry } from './render.ts';

/** Trash, restore, destroy, empty, and copy: cozy-stack's TrashHandler, RestoreTrashFileHandler, DestroyFileHandler... */
export function registerTrashRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.get('/trash', async (req, reply) => {
    const caller = await d.access.caller(req);
    const trash = await d.svc.stat(caller.inst, TRASH_DIR_ID);
    if (!isDir(trash)) throw FilesErrors.notFound();
    await d.access.allow(req, 'GET', trash);
    const { docs, count, next } = await dirPage(d, caller, trash, req.query);
    const data = await renderEntries(d, caller.inst, docs);
    for (const r of data) r.links = { ...r.links, self: `/files/trash/${r.id}` };
    return sendJsonApi(reply, 200, { data, meta: { count }, ...(next ? { links: { next: `/files/trash?${next}` } } : {}) });
  });

  // Emptying runs in the background (a trash-files job when the jobs plugin is there): the answer comes at once.
  app.delete('/trash', async (req, reply) => {
    const caller = await d.access.allowWholeType(req, 'DELETE');
    await d.svc.emptyTrashLater(caller.inst, (err) => req.log.error({ err }, 'emptying the trash failed'));
    return reply.status(204).send();
  });

  app.post<{ Params: { id: string } }>('/trash/:id', async (req, reply) => {
    const caller = await d.access.caller(req);
    const doc = await d.svc.stat(caller.inst, req.params.id);
    await d.access.allow(req, 'PATCH', doc);
    const restored = await d.svc.restore(caller.inst, doc._id, { ifMatch: ifMatch(req), actor: caller.actor });
    return sendJsonApi(reply, 200, await renderEntry(d, caller.inst, restored));
  });

  app.delete<{ Params: { id: string } }>('/trash/:id', async (req, reply) => {
    const caller = await d.access.caller(req);
    const doc = await d.svc.stat(caller.inst, req.params.id);
    await d.access.allow(req, 'DELETE', doc);
    const path = await d.svc.pathOf(caller.inst, doc);
    if (!isUnderTrash(path) || doc._id === TRASH_DIR_ID) throw FilesErrors.notTrashed();
    await d.svc.destroy(caller.inst, doc._id, { ifMatch: ifMatch(req) });
    return reply.status(204).send();
  });

  app.delete<{ Params: { id: string } }>('/:id', async (req, reply) => {
    const caller = await d.access.caller(req);
    const doc = await d.svc.stat(caller.inst, req.params.id);
    await d.access.allow(req, 'PATCH', doc);
    const trashed = await d.svc.trash(caller.inst, doc._id, { ifMatch: ifMatch(req), actor: caller.actor });
    return sendJsonApi(reply, 200, await renderEntry(d, caller.inst, trashed));
  });

  // cozy-stack copies files only; `Name` and `DirID` are optional.
  app.post<{ Params: { id: string } }>('/:id/copy', async (req, reply) => {
    const caller = await d.access.caller(req);
    const src = await d.svc.stat(caller.inst, req.params.id);
    if (!isFile(src)) throw FilesErrors.notFound();
    await d.access.allow(req, 'GET', src);
    const dirId = param(req.query, 'DirID') ?? src.dir_id;
    const name = param(req.query, 'Name');
    if (!(await d.access.holds(caller, 'POST', { ...src, _id: '', dir_id: dirId, name: name ?? src.name }))) throw AuthErrors.forbidden();
    const copy = await d.svc.copy(caller.inst, src._id, { dirId, name: name === undefined ? undefined : await freeName(d, caller.inst, dirId as string, name) }, { actor: caller.actor });
    return sendJsonApi(reply, 201, await renderEntry(d, caller.inst, copy));
  });
}

/** cozy-stack numbers a taken copy name too (ConflictName), even one the client chose. */
async function freeName(d: RouteDeps, inst: InstanceRef, dirId: string, name: string): Promise<string> {
  const taken = async (n: string) => (await d.svc.index.child(inst, dirId, n)) !== null;
  return (await taken(name)) ? numberedName(name, true, taken) : name;
}
