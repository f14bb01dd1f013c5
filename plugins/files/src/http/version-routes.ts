import type { FastifyInstance } from 'fastify';
import { FilesErrors, KernelErrors, defineError, isDir, isFile, readResource } from '@cozy-ts/kernel';
import { uniqueTags } from '../vfs/names.ts';
import type { Caller } from './access.ts';
import { sendJsonApi, type RouteDeps } from './deps.ts';
import { ifMatch, param } from './params.ts';
import { renderEntry } from './render.ts';
import { versionResource } from './serialize.ts';

interface VersionParams {
  id: string;
  versionId: string;
}

const versionOfDir = defineError('COZY_ERR_FILES_VERSION_OF_DIR', 400, 'cannot create versions for directories');

/** Metadata keys only certified sources may set, each with the synthetic doctype that grants it (pkg/consts). */
const CERTIFIED: ReadonlyArray<readonly [key: string, doctype: string]> = [
  ['carbonCopy', 'io.cozy.certified.carbon_copy'],
  ['electronicSafe', 'io.cozy.certified.electronic_safe'],
];
const NOTE_MIME = 'text/vnd.cozy.note+markdown';
/** What a note's editor keeps in `metadata`: a new version of a note must not lose it. */
const NOTE_KEYS = ['title', 'content', 'schema', 'version'];

/**
 * The metadata of a new version as cozy-stack's CopyVersionHandler builds it: the request's attributes, less
 * the certified keys the caller may not set; a certification of the current content survives when the request
 * only sets `qualification` (or the other certification); a note keeps its editor's keys.
 */
function versionMetadata(caller: Caller, attributes: Record<string, unknown>, current: Record<string, unknown>, mime: string): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...attributes };
  const perms = caller.auth.permissions;
  for (const [key, doctype] of CERTIFIED) {
    if (key in meta && !perms.isMaximal() && !perms.allowWholeType('POST', doctype)) delete meta[key];
  }
  const setKeys = Object.keys(meta);
  for (const [key] of CERTIFIED) {
    const keep = setKeys.every((k) => k === 'qualification' || (k !== key && CERTIFIED.some(([c]) => c === k)));
    if (keep && current[key] !== undefined) meta[key] = current[key];
  }
  if (mime === NOTE_MIME) {
    for (const key of NOTE_KEYS) if (meta[key] === undefined || meta[key] === null) meta[key] = current[key];
  }
  return meta;
}

/** cozy-stack's SplitTrimString: comma-separated, each trimmed, empty ones dropped. */
function versionTags(query: unknown): string[] {
  return uniqueTags((param(query, 'Tags') ?? '').split(',').map((t) => t.trim()).filter((t) => t !== ''));
}

/** Old versions: a new one, revert, retag, delete one, delete all (cozy-stack's routes and permission verbs). */
export function registerVersionRoutes(app: FastifyInstance, d: RouteDeps): void {
  /**
   * `POST /files/:file-id/versions`: the current content again, as a new upload with new metadata (and `Tags`),
   * so the content with its old metadata becomes an old version under the usual rules. Needs PUT on the file.
   */
  app.post<{ Params: { id: string } }>('/:id/versions', async (req, reply) => {
    const caller = await d.access.caller(req);
    const entry = await d.svc.stat(caller.inst, req.params.id);
    if (isDir(entry)) throw versionOfDir();
    if (!isFile(entry)) throw FilesErrors.conflict();
    await d.access.allow(req, 'PUT', entry);
    const { attributes } = readResource(req.body);
    if (entry.trashed === true) throw FilesErrors.parentInTrash();
    const content = await d.svc.read(caller.inst, entry._id);
    const current = content.doc;
    const metadata = versionMetadata(caller, attributes, current.metadata ?? {}, current.mime);
    let doc;
    try {
      doc = await d.svc.overwriteFile(caller.inst, current._id, {
        size: content.size, md5: Buffer.from(current.md5sum, 'base64'), mime: current.mime,
        updatedAt: new Date(current.updated_at), tags: versionTags(req.query), metadata,
        executable: current.executable, encrypted: current.encrypted,
      }, content.stream, { ifMatch: current._rev, actor: caller.actor });
    } catch (err) {
      content.stream.destroy();
      // The file changed between the read of its content and the write of the copy: that copy is not current.
      if ((err as { code?: string }).code === FilesErrors.revMismatch.code) throw FilesErrors.conflict();
      throw err;
    }
    return sendJsonApi(reply, 200, await renderEntry(d, caller.inst, doc, { withVersions: true }));
  });

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
