import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthErrors, FilesErrors, ROOT_DIR_ID, instanceOf, isDir, type NewFileInput } from '@cozy-ts/kernel';
import { uploadMimeAndClass } from '../vfs/mime.ts';
import { pathSegments } from '../vfs/names.ts';
import type { Caller } from './access.ts';
import { sendJsonApi, type RouteDeps } from './deps.ts';
import { boolParam, dateHeader, dateParam, header, ifMatch, invalidParameter, md5Header, param, sizeOf, tagsParam } from './params.ts';
import { renderEntry } from './render.ts';
import { uploadMetadata } from './upload-metadata.ts';

interface DirParams {
  dirId?: string;
}

function bodyOf(req: FastifyRequest): Readable {
  return (req.body as Readable | undefined) ?? req.raw;
}

/** cozy-stack's date precedence: the parameter, else the `Date` header, else now (left to the service). */
function uploadDates(req: FastifyRequest): { createdAt?: Date; updatedAt?: Date } {
  const date = dateHeader(req);
  return { createdAt: dateParam(req.query, 'CreatedAt') ?? date, updatedAt: dateParam(req.query, 'UpdatedAt') ?? date };
}

function sourceAccount(req: FastifyRequest): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const account = param(req.query, 'SourceAccount');
  const identifier = param(req.query, 'SourceAccountIdentifier');
  if (account) out.sourceAccount = account;
  if (identifier) out.sourceAccountIdentifier = identifier;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * `POST /files/`, `POST /files/:dir-id` (Type=directory|file) and `PUT /files/:file-id`, in their own context
 * whose only body parser hands the raw request stream over: contents are streamed, never buffered, and a JSON
 * file is uploaded as bytes like any other.
 */
export function registerCreateRoutes(app: FastifyInstance, d: RouteDeps): void {
  void app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    const create = async (req: FastifyRequest<{ Params: DirParams }>, reply: FastifyReply) => {
      const type = param(req.query, 'Type');
      if (type === 'directory') {
        bodyOf(req).resume();
        const caller = await d.access.caller(req);
        const doc = param(req.query, 'Path') !== undefined && !req.params.dirId
          ? await createDirByPath(d, req, caller)
          : await createDir(d, req, caller, req.params.dirId ?? ROOT_DIR_ID);
        return sendJsonApi(reply, 201, await renderEntry(d, caller.inst, doc));
      }
      if (type === 'file') {
        const file = await createFile(d, req, req.params.dirId ?? ROOT_DIR_ID);
        return sendJsonApi(reply, 201, file);
      }
      bodyOf(req).resume();
      throw invalidParameter('Type', 'Invalid document type');
    };
    uploads.post('/', create);
    uploads.post('/:dirId', create);

    uploads.put<{ Params: { fileId: string } }>('/:fileId', async (req, reply) => {
      const body = bodyOf(req);
      let caller: Caller;
      let input;
      try {
        const doc = await d.svc.stat(instanceOf(req), req.params.fileId);
        if (isDir(doc)) throw FilesErrors.notFound('This is a directory, not a file');
        caller = await d.access.allow(req, 'PUT', doc);
        input = {
          size: sizeOf(req), md5: md5Header(req), mime: header(req, 'content-type'),
          updatedAt: dateParam(req.query, 'UpdatedAt') ?? dateHeader(req), tags: tagsParam(req.query),
          executable: boolParam(req.query, 'Executable'), encrypted: boolParam(req.query, 'Encrypted'),
          metadata: await uploadMetadata(d, caller.inst, req), cozyMetadata: sourceAccount(req),
        };
      } catch (err) {
        body.resume();
        throw err;
      }
      const doc = await d.svc.overwriteFile(caller.inst, req.params.fileId, input, body, { ifMatch: ifMatch(req), actor: caller.actor });
      return sendJsonApi(reply, 200, await renderEntry(d, caller.inst, doc));
    });
  });
}

async function createDir(d: RouteDeps, req: FastifyRequest, caller: Caller, dirId: string) {
  const name = param(req.query, 'Name') ?? '';
  const tags = tagsParam(req.query);
  const draft = { type: 'directory', name, dir_id: dirId, tags: tags ?? [] };
  if (!(await d.access.holds(caller, 'POST', draft))) throw AuthErrors.forbidden();
  const date = dateHeader(req);
  const createdAt = dateParam(req.query, 'CreatedAt');
  return d.svc.createDir(caller.inst, {
    dirId, name, tags, createdAt: createdAt ?? date, updatedAt: date ?? createdAt, metadata: await uploadMetadata(d, caller.inst, req),
  }, { actor: caller.actor });
}

/** `POST /files/?Path=/a/b&Type=directory[&Recursive=true]`, checked against the deepest existing directory. */
async function createDirByPath(d: RouteDeps, req: FastifyRequest, caller: Caller) {
  const path = param(req.query, 'Path') as string;
  const segments = pathSegments(path);
  if (segments.length === 0) throw FilesErrors.nameTaken();
  let parentId = ROOT_DIR_ID;
  let i = 0;
  for (; i < segments.length - 1; i++) {
    const next = await d.svc.statByPath(caller.inst, `/${segments.slice(0, i + 1).join('/')}`).catch(() => null);
    if (!next || !isDir(next)) break;
    parentId = next._id;
  }
  const draft = { type: 'directory', name: segments[i], dir_id: parentId, tags: [] };
  if (!(await d.access.holds(caller, 'POST', draft))) throw AuthErrors.forbidden();
  return d.svc.createDirByPath(caller.inst, path, { recursive: boolParam(req.query, 'Recursive') === true, actor: caller.actor });
}

async function createFile(d: RouteDeps, req: FastifyRequest, dirId: string) {
  const body = bodyOf(req);
  let caller: Caller;
  let input: NewFileInput;
  try {
    caller = await d.access.caller(req);
    const name = param(req.query, 'Name') ?? '';
    const tags = tagsParam(req.query);
    const { mime, class: cls } = uploadMimeAndClass(header(req, 'content-type'), name);
    const draft = { type: 'file', name, dir_id: dirId, tags: tags ?? [], mime, class: cls };
    if (!(await d.access.holds(caller, 'POST', draft))) throw AuthErrors.forbidden();
    input = {
      dirId, name, size: sizeOf(req), md5: md5Header(req), mime: header(req, 'content-type'), ...uploadDates(req), tags,
      executable: boolParam(req.query, 'Executable'), encrypted: boolParam(req.query, 'Encrypted'),
      metadata: await uploadMetadata(d, caller.inst, req), cozyMetadata: sourceAccount(req),
    };
  } catch (err) {
    body.resume();
    throw err;
  }
  const doc = await d.svc.createFile(caller.inst, input, body, { actor: caller.actor });
  return renderEntry(d, caller.inst, doc);
}
