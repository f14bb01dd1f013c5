import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FilesErrors, ROOT_DIR_ID, TRASH_DIR_ID, isDir, isFile, readPageQuery, type DirDoc, type FileDoc } from '@cozy-ts/kernel';
import type { Caller } from './access.ts';
import { sendJsonApi, type RouteDeps } from './deps.ts';
import { param } from './params.ts';
import { renderEntries, renderEntry } from './render.ts';
import { listedDirResource } from './serialize.ts';

/** cozy-stack's defPerPage; its pages go up to 1000 rows. */
const DEFAULT_PAGE = 30;
const MAX_PAGE = 1000;

/** A directory page from the query's `page[limit]` / `page[cursor]`; the trash never shows in the root's listing. */
export async function dirPage(d: RouteDeps, caller: Caller, dir: DirDoc, query: unknown) {
  const page = readPageQuery(query, DEFAULT_PAGE, MAX_PAGE);
  const cursor = page.cursor ? JSON.stringify([page.cursor.key, page.cursor.docId]) : undefined;
  const res = await d.svc.listDir(caller.inst, dir._id, { limit: page.limit, cursor });
  const docs = res.docs.filter((c) => c._id !== TRASH_DIR_ID);
  // The root always holds the trash, which it never lists (cozy-stack's getDirData).
  const count = dir._id === ROOT_DIR_ID ? res.count - 1 : res.count;
  const next = res.next ? new URLSearchParams({ 'page[limit]': String(page.limit), 'page[cursor]': res.next }).toString() : undefined;
  return { docs, count: Math.max(count, 0), next };
}

/** GET of an entry: a directory with a page of its children, or a file with its old versions. */
async function sendEntry(d: RouteDeps, req: FastifyRequest, reply: FastifyReply, doc: FileDoc): Promise<FastifyReply> {
  const caller = await d.access.allow(req, 'GET', doc);
  if (isFile(doc)) return sendJsonApi(reply, 200, await renderEntry(d, caller.inst, doc, { withVersions: true }));
  const { docs, count, next } = await dirPage(d, caller, doc, req.query);
  return sendJsonApi(reply, 200, {
    data: listedDirResource(doc, docs, count, next),
    included: await renderEntries(d, caller.inst, docs),
    ...(next ? { links: { next: `/files/${doc._id}?${next}` } } : {}),
  });
}

export function registerReadRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.get('/metadata', async (req, reply) => {
    const caller = await d.access.caller(req);
    const path = param(req.query, 'Path');
    if (path === undefined) throw FilesErrors.badPath(undefined, { source: { parameter: 'Path' } });
    return sendEntry(d, req, reply, await d.svc.statByPath(caller.inst, path));
  });

  app.get<{ Params: { id: string } }>('/:id', async (req, reply) => {
    const caller = await d.access.caller(req);
    return sendEntry(d, req, reply, await d.svc.stat(caller.inst, req.params.id));
  });

  app.get<{ Params: { id: string } }>('/:id/relationships/contents', async (req, reply) => {
    const caller = await d.access.caller(req);
    const doc = await d.svc.stat(caller.inst, req.params.id);
    await d.access.allow(req, 'GET', doc);
    if (!isDir(doc)) throw FilesErrors.notFound('This is a file, not a directory');
    const { docs, count, next } = await dirPage(d, caller, doc, req.query);
    return sendJsonApi(reply, 200, {
      data: await renderEntries(d, caller.inst, docs),
      meta: { count },
      ...(next ? { links: { next: `/files/${doc._id}/relationships/contents?${next}` } } : {}),
    });
  });

  app.get<{ Params: { id: string } }>('/:id/size', async (req, reply) => {
    const caller = await d.access.caller(req);
    const doc = await d.svc.stat(caller.inst, req.params.id);
    await d.access.allow(req, 'GET', doc);
    if (!isDir(doc)) throw FilesErrors.notFound('This is a file, not a directory');
    let size = 0;
    for await (const e of d.svc.walk(caller.inst, doc._id)) if (isFile(e.doc)) size += Number(e.doc.size);
    return sendJsonApi(reply, 200, { data: { type: 'io.cozy.files.sizes', id: doc._id, attributes: { size: String(size) }, meta: {} } });
  });
}
