import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthErrors, JSONAPI_CONTENT_TYPE, instanceOf, type Cache, type FilesService, type InstanceRef, type RequestVerb } from '@cozy-ts/kernel';
import type { Logger } from 'pino';
import type { Caller } from '../http/access.ts';
import { contentDisposition } from '../http/send-content.ts';
import { ArchiveSecrets, readArchiveSpec, type ArchiveSpec } from './archive-spec.ts';
import { zipStream, type ArchiveEntry } from './zip-stream.ts';

const ARCHIVES_DOCTYPE = 'io.cozy.files.archives';

export interface ArchiveDeps {
  files: FilesService;
  /** The files plugin's permission checks (cozy-stack's AllowVFS: a rule on a folder covers what it holds). */
  access: {
    caller(req: FastifyRequest): Promise<Caller>;
    holds(caller: Caller, verb: RequestVerb, doc: Record<string, unknown>): Promise<boolean>;
  };
  cache: Cache;
  log: Logger;
}

/** The selected entries, by id then by path, as cozy-stack's GetEntries; a missing one is the service's 404. */
async function resolve(files: FilesService, inst: InstanceRef, spec: ArchiveSpec): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  for (const id of spec.ids) {
    const doc = await files.stat(inst, id);
    entries.push({ doc, path: await files.pathOf(inst, doc) });
  }
  for (const path of spec.files) {
    const doc = await files.statByPath(inst, path);
    entries.push({ doc, path: await files.pathOf(inst, doc) });
  }
  return entries;
}

function sendZip(reply: FastifyReply, deps: ArchiveDeps, inst: InstanceRef, spec: ArchiveSpec, entries: ArchiveEntry[]): FastifyReply {
  const stream = zipStream(deps.files, inst, spec.name, entries);
  stream.on('error', (err) => deps.log.warn({ err, domain: inst.domain }, 'archive stream failed'));
  return reply.type('application/zip').header('content-disposition', contentDisposition('attachment', `${spec.name}.zip`)).send(stream);
}

/**
 * `POST /files/archive`: checks the caller may read every selected entry (a directory's permission covers what it
 * holds), then answers a link `/files/archive/<secret>/<name>.zip` valid ten minutes, or the zip itself when the
 * request accepts `application/zip`.
 * `GET /files/archive/:secret/:fake-name`: the zip, streamed; the secret is the credential (a browser download
 * cannot send a token). Entries are resolved again, so what was deleted since is a 404, not a broken zip.
 *
 * No start or stop hook.
 */
export function registerArchiveRoutes(app: FastifyInstance, deps: ArchiveDeps): void {
  const secrets = new ArchiveSecrets(deps.cache);

  app.post('/archive', async (req, reply) => {
    const caller = await deps.access.caller(req);
    const spec = readArchiveSpec(req.body);
    const inst = instanceOf(req);
    const entries = await resolve(deps.files, inst, spec);
    for (const entry of entries) {
      if (!(await deps.access.holds(caller, 'GET', entry.doc))) throw AuthErrors.forbidden();
    }
    if (req.headers.accept === 'application/zip') return sendZip(reply, deps, inst, spec, entries);
    const secret = await secrets.add(inst, spec);
    const href = `/files/archive/${secret}/${encodeURIComponent(spec.name)}.zip`;
    const body = {
      links: { related: href },
      data: {
        type: ARCHIVES_DOCTYPE,
        id: secret,
        attributes: { name: spec.name, ids: spec.ids, files: spec.files, href },
        links: { self: `/files/archive/${secret}` },
      },
    };
    return reply.type(JSONAPI_CONTENT_TYPE).send(JSON.stringify(body));
  });

  app.get<{ Params: { secret: string; name: string } }>('/archive/:secret/:name', async (req, reply) => {
    const inst = instanceOf(req);
    const spec = await secrets.get(inst, req.params.secret);
    const entries = await resolve(deps.files, inst, spec);
    return sendZip(reply, deps, inst, spec, entries);
  });
}
