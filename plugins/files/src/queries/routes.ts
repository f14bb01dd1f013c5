import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthErrors, FilesErrors, JSONAPI_CONTENT_TYPE, type DocReference, type DocumentStore, type FilesService, type InstanceRef, type RequestVerb } from '@cozy-ts/kernel';
import type { Caller } from '../http/access.ts';
import { filesByIds, readKeys } from './all-docs.ts';
import { FilesChanges, readFilesChangesQuery } from './changes.ts';
import { DirPaths } from './dir-paths.ts';
import { findFiles, readFindQuery } from './find.ts';
import type { Query } from './query-params.ts';
import { changeReferences, readReferences, type ReferenceChange, type ReferenceField } from './referenced-by.ts';
import { renderDocs, type FileLinksFn } from './render.ts';

const FILES_DOCTYPE = 'io.cozy.files';

export interface QueryDeps {
  store: DocumentStore;
  files: FilesService;
  /** The files plugin's permission checks (cozy-stack's AllowVFS). */
  access: {
    caller(req: FastifyRequest): Promise<Caller>;
    holds(caller: Caller, verb: RequestVerb, doc: Record<string, unknown>): Promise<boolean>;
  };
  /** The instance's tree lock (cozy-stack's "vfs" lock), taken by writes to io.cozy.files documents. */
  lock: { run<T>(inst: InstanceRef, fn: () => Promise<T>): Promise<T>; runReading<T>(inst: InstanceRef, fn: () => Promise<T>): Promise<T> };
  /** Thumbnail links of a file, as every other /files listing renders them. */
  fileLinks: FileLinksFn;
}

async function wholeType(deps: QueryDeps, req: FastifyRequest): Promise<Caller> {
  const caller = await deps.access.caller(req);
  if (!caller.auth.permissions.allowWholeType('GET', FILES_DOCTYPE)) throw AuthErrors.forbidden();
  return caller;
}

/**
 * The query routes of /files, cozy-stack compatible:
 * - `POST /files/_find`: Mango on io.cozy.files, JSON:API with `links.next` (`page[cursor]`) and `meta.count`;
 * - `POST /files/_all_docs`: entries by ids, JSON:API, files with their path;
 * - `GET /files/_changes`: the changes feed (`since`, `limit`, `include_docs`, `fields`, `include_file_path`,
 *   `skip_deleted`, `skip_trashed`); entries an OAuth client does not synchronise come as deletions;
 * - `POST` / `DELETE /files/:id/relationships/referenced_by`: add or remove references on an entry (and `GET`, which
 *   cozy-stack does not have, to read them alone);
 * - `GET` / `POST` / `DELETE /files/:dir-id/relationships/not_synchronized_on`: the OAuth clients a directory is not
 *   synchronised on (directories only; PATCH on it to change, GET to read).
 * The first three need GET on the whole doctype, as in cozy-stack; references need PATCH (add) or DELETE (remove)
 * on the entry, a permission on a folder covering what it holds.
 *
 * No start or stop hook.
 */
export function registerQueryRoutes(app: FastifyInstance, deps: QueryDeps): void {
  const changes = new FilesChanges(deps.store);

  app.post<{ Querystring: Query }>('/_find', async (req, reply) => {
    const caller = await wholeType(deps, req);
    const q = readFindQuery(req.body, req.query);
    const res = await findFiles(deps.store, caller.inst, q);
    const data = await renderDocs(res.docs, caller.inst, new DirPaths(deps.store, caller.inst), deps.fileLinks, { includePath: q.includePath });
    const body = {
      data,
      links: res.next ? { next: `/files/_find?page[cursor]=${encodeURIComponent(res.next)}` } : {},
      meta: { count: res.count, ...(res.warning ? { warning: res.warning } : {}) },
    };
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify(body));
  });

  app.post('/_all_docs', async (req, reply) => {
    const caller = await wholeType(deps, req);
    const docs = await filesByIds(deps.store, caller.inst, readKeys(req.body));
    const data = await renderDocs(docs, caller.inst, new DirPaths(deps.store, caller.inst), deps.fileLinks, { includePath: true });
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify({ data }));
  });

  app.get<{ Querystring: Query }>('/_changes', async (req, reply) => {
    const caller = await wholeType(deps, req);
    const q = readFilesChangesQuery(req.query);
    const clientId = caller.auth.kind === 'oauth' ? caller.auth.subject : undefined;
    // Under the tree lock, as cozy-stack: a feed read in the middle of a directory move would show half of it.
    const res = await deps.lock.runReading(caller.inst, () => changes.changes(caller.inst, q, clientId));
    return reply.type('application/json').send(JSON.stringify(res));
  });

  const references = (change: ReferenceChange, verb: RequestVerb, field: ReferenceField = 'referenced_by') => async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const caller = await deps.access.caller(req);
    const refs = readReferences(req.body);
    const inst = caller.inst;
    const doc = await deps.lock.run(inst, async () => {
      const current = await deps.files.stat(inst, req.params.id);
      // cozy-stack looks the id up as a directory (DirByID): a file has no such list, it is not found.
      if (field === 'not_synchronized_on' && current.type !== 'directory') throw FilesErrors.notFound('Only a directory can be excluded from a synchronisation');
      if (!(await deps.access.holds(caller, verb, current))) throw AuthErrors.forbidden();
      return changeReferences(deps.store, inst, current, refs, change, caller.actor, field);
    });
    const data = (doc as { [k in ReferenceField]?: DocReference[] })[field] ?? [];
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify({ meta: { rev: doc._rev, count: data.length }, data }));
  };
  // Not in cozy-stack (its files carry their references in `relationships.referenced_by`): the list alone, for
  // clients that want it without the rest of the document. GET on the entry.
  app.get<{ Params: { id: string } }>('/:id/relationships/referenced_by', async (req, reply) => {
    const caller = await deps.access.caller(req);
    const doc = await deps.files.stat(caller.inst, req.params.id);
    if (!(await deps.access.holds(caller, 'GET', doc))) throw AuthErrors.forbidden();
    const data = doc.referenced_by ?? [];
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify({ meta: { rev: doc._rev, count: data.length }, data }));
  });
  app.post<{ Params: { id: string } }>('/:id/relationships/referenced_by', references('add', 'PATCH'));
  app.delete<{ Params: { id: string } }>('/:id/relationships/referenced_by', references('remove', 'DELETE'));

  // cozy-stack's docs/not-synchronized-vfs.md: the OAuth clients (desktop, mobile) a directory is not synchronised
  // on; `_changes` then shows that directory's content as deleted to them. Both need PATCH on the directory, as in
  // cozy-stack. The GET is ours, as for referenced_by.
  app.get<{ Params: { id: string } }>('/:id/relationships/not_synchronized_on', async (req, reply) => {
    const caller = await deps.access.caller(req);
    const doc = await deps.files.stat(caller.inst, req.params.id);
    if (doc.type !== 'directory') throw FilesErrors.notFound('Only a directory can be excluded from a synchronisation');
    if (!(await deps.access.holds(caller, 'GET', doc))) throw AuthErrors.forbidden();
    const data = doc.not_synchronized_on ?? [];
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify({ meta: { rev: doc._rev, count: data.length }, data }));
  });
  app.post<{ Params: { id: string } }>('/:id/relationships/not_synchronized_on', references('add', 'PATCH', 'not_synchronized_on'));
  app.delete<{ Params: { id: string } }>('/:id/relationships/not_synchronized_on', references('remove', 'PATCH', 'not_synchronized_on'));
}
