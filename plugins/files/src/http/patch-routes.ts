import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthErrors, FilesErrors, KernelErrors, isCozyError, isFile, jsonApiRenderer, readResource,
  type CozyError, type FileDoc, type FilePatch,
} from '@cozy-ts/kernel';
import { mimeAndClassFromName } from '../vfs/mime.ts';
import type { Caller } from './access.ts';
import { sendJsonApi, type RouteDeps } from './deps.ts';
import { ifMatch, param } from './params.ts';
import { renderEntry } from './render.ts';

interface ParsedPatch {
  patch: FilePatch;
  trash: boolean;
  destroy: boolean;
}

function bad(pointer: string, detail: string): CozyError {
  return KernelErrors.invalidBody(detail, { source: { pointer: `/data/attributes/${pointer}` } });
}

/** cozy-stack's DocPatch from JSON:API attributes; `metadata` replaces the whole object as cozy-stack does. */
function parsePatch(attrs: Record<string, unknown>, current: FileDoc): ParsedPatch {
  const patch: FilePatch = {};
  if (attrs.name !== undefined) {
    if (typeof attrs.name !== 'string') throw bad('name', 'name must be a string');
    patch.name = attrs.name;
  }
  if (attrs.dir_id !== undefined) {
    if (typeof attrs.dir_id !== 'string' || attrs.dir_id === '') throw bad('dir_id', 'dir_id must be a string');
    patch.dirId = attrs.dir_id;
  }
  if (attrs.tags !== undefined) {
    if (!Array.isArray(attrs.tags) || attrs.tags.some((t) => typeof t !== 'string')) throw bad('tags', 'tags must be an array of strings');
    patch.tags = attrs.tags as string[];
  }
  if (attrs.updated_at !== undefined) {
    const d = typeof attrs.updated_at === 'string' ? new Date(attrs.updated_at) : new Date(NaN);
    if (Number.isNaN(d.getTime())) throw FilesErrors.badTime(undefined, { source: { parameter: 'UpdatedAt' } });
    patch.updatedAt = d;
  }
  for (const key of ['executable', 'encrypted'] as const) {
    if (attrs[key] === undefined) continue;
    if (typeof attrs[key] !== 'boolean') throw bad(key, `${key} must be a boolean`);
    patch[key] = attrs[key] as boolean;
  }
  // cozy-stack recomputes the type from the name when a class is sent, whatever its value.
  if (attrs.class !== undefined && isFile(current)) {
    const mc = mimeAndClassFromName(patch.name ?? current.name);
    patch.mime = mc.mime;
    patch.class = mc.class;
  }
  if (attrs.metadata !== undefined) {
    if (typeof attrs.metadata !== 'object' || attrs.metadata === null || Array.isArray(attrs.metadata)) throw bad('metadata', 'metadata must be an object');
    const next: Record<string, unknown> = { ...(attrs.metadata as Record<string, unknown>) };
    for (const k of Object.keys(current.metadata ?? {})) if (!(k in next)) next[k] = null;
    patch.metadata = next;
  }
  const cm = attrs.cozyMetadata as Record<string, unknown> | undefined;
  if (cm !== undefined && (typeof cm !== 'object' || cm === null)) throw bad('cozyMetadata', 'cozyMetadata must be an object');
  if (cm && cm.favorite !== undefined) {
    if (typeof cm.favorite !== 'boolean') throw bad('cozyMetadata/favorite', 'favorite must be a boolean');
    patch.cozyMetadata = { favorite: cm.favorite };
  }
  return { patch, trash: attrs.move_to_trash === true, destroy: attrs.permanent_delete === true };
}

/** One PATCH: checks, then trash, destroy or update; the entry after the change (null when destroyed). */
async function applyPatch(d: RouteDeps, req: FastifyRequest, caller: Caller, doc: FileDoc, attrs: Record<string, unknown>, rev: string | undefined): Promise<FileDoc | null> {
  if (rev !== undefined && rev !== doc._rev) throw FilesErrors.revMismatch(undefined, { source: { parameter: 'If-Match' } });
  if (!(await d.access.holds(caller, 'PATCH', doc))) throw AuthErrors.forbidden();
  const { patch, trash, destroy } = parsePatch(attrs, doc);
  const opts = { ifMatch: rev, actor: caller.actor };
  if (destroy) {
    await d.svc.destroy(caller.inst, doc._id, opts);
    return null;
  }
  if (trash) return d.svc.trash(caller.inst, doc._id, opts);
  // Moving somewhere needs the right to write there too: a permission on one folder cannot move things out of it.
  if (patch.dirId !== undefined && patch.dirId !== doc.dir_id && !(await d.access.holds(caller, 'PATCH', { ...doc, dir_id: patch.dirId }))) {
    throw AuthErrors.forbidden();
  }
  return d.svc.update(caller.inst, doc._id, patch, opts);
}

async function patchOne(d: RouteDeps, req: FastifyRequest, reply: FastifyReply, doc: FileDoc, caller: Caller): Promise<FastifyReply> {
  const { attributes } = readResource(req.body);
  const after = await applyPatch(d, req, caller, doc, attributes, ifMatch(req));
  if (!after) return reply.status(204).send();
  return sendJsonApi(reply, 200, await renderEntry(d, caller.inst, after));
}

export function registerPatchRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.patch('/metadata', async (req, reply) => {
    const caller = await d.access.caller(req);
    const path = param(req.query, 'Path');
    if (path === undefined) throw FilesErrors.badPath(undefined, { source: { parameter: 'Path' } });
    return patchOne(d, req, reply, await d.svc.statByPath(caller.inst, path), caller);
  });

  app.patch<{ Params: { id: string } }>('/:id', async (req, reply) => {
    const caller = await d.access.caller(req);
    return patchOne(d, req, reply, await d.svc.stat(caller.inst, req.params.id), caller);
  });

  // cozy-stack's batch: each entry applied in turn; failures reported together, 204 when all went through.
  app.patch('/', async (req, reply) => {
    const caller = await d.access.caller(req);
    const data = (req.body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data)) throw KernelErrors.invalidBody('Expected {"data": [...]}', { source: { pointer: '/data' } });
    const errors: Array<Record<string, unknown>> = [];
    let firstStatus = 0;
    for (const item of data) {
      const { id, attributes, rev } = readResource({ data: item });
      try {
        if (!id) throw FilesErrors.notFound();
        const doc = await d.svc.stat(caller.inst, id);
        await applyPatch(d, req, caller, doc, attributes, rev);
      } catch (err) {
        if (isCozyError(err) && err.status === 403) throw err;
        const e = isCozyError(err) ? err : KernelErrors.internal(undefined, { cause: err });
        if (e.status >= 500) req.log.error({ err }, 'batch PATCH entry failed');
        firstStatus ||= e.status;
        const rendered = JSON.parse(jsonApiRenderer(e, req).body) as { errors: Array<Record<string, unknown>> };
        for (const r of rendered.errors) errors.push({ ...r, source: { parameter: '_id', pointer: id ?? '' } });
      }
    }
    if (errors.length > 0) return reply.status(firstStatus).type('application/vnd.api+json').send(JSON.stringify({ errors }));
    return reply.status(204).send();
  });
}
