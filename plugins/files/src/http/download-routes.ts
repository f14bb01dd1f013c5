import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FilesErrors, KernelErrors, instanceOf, isFile, type FileDoc, type InstanceRef, type RegularFileDoc } from '@cozy-ts/kernel';
import type { Caller } from './access.ts';
import { sendJsonApi, type RouteDeps } from './deps.ts';
import { param } from './params.ts';
import { renderEntry } from './render.ts';
import { sendContent, type ContentToSend } from './send-content.ts';

interface DownloadSecret {
  id: string;
  versionId?: string;
  filename?: string;
}

function secretKey(inst: InstanceRef, secret: string): string {
  return `files:download:${inst.prefix}:${secret}`;
}

function fileContent(d: RouteDeps, inst: InstanceRef, doc: RegularFileDoc): ContentToSend {
  return {
    name: doc.name, mime: doc.mime, size: Number(doc.size), md5sum: doc.md5sum, updatedAt: doc.updated_at,
    open: async (range) => {
      const c = await d.svc.read(inst, doc._id, range);
      return { stream: c.stream, start: c.start, end: c.end };
    },
  };
}

async function versionContent(d: RouteDeps, inst: InstanceRef, file: RegularFileDoc, versionId: string): Promise<ContentToSend> {
  const v = await d.svc.index.version(inst, versionId);
  return {
    name: file.name, mime: file.mime, size: Number(v.size), md5sum: v.md5sum, updatedAt: v.updated_at,
    open: async (range) => {
      const c = await d.svc.readVersion(inst, versionId, range);
      return { stream: c.stream, start: c.start, end: c.end };
    },
  };
}

function asFile(doc: FileDoc): RegularFileDoc {
  if (!isFile(doc)) throw FilesErrors.notFound('This is a directory, not a file');
  return doc;
}

/** Downloads by id, by path, of a version, and through secret links that need no token. */
export function registerDownloadRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.get('/download', async (req, reply) => {
    const caller = await d.access.caller(req);
    const path = param(req.query, 'Path');
    if (path === undefined) throw FilesErrors.badPath(undefined, { source: { parameter: 'Path' } });
    const doc = asFile(await d.svc.statByPath(caller.inst, path));
    await d.access.allow(req, 'GET', doc);
    return sendContent(req, reply, fileContent(d, caller.inst, doc));
  });

  app.get<{ Params: { id: string } }>('/download/:id', async (req, reply) => {
    const caller = await d.access.caller(req);
    const doc = asFile(await d.svc.stat(caller.inst, req.params.id));
    await d.access.allow(req, 'GET', doc);
    return sendContent(req, reply, fileContent(d, caller.inst, doc));
  });

  app.get<{ Params: { id: string; versionId: string } }>('/download/:id/:versionId', async (req, reply) => {
    const caller = await d.access.caller(req);
    const doc = asFile(await d.svc.stat(caller.inst, req.params.id));
    await d.access.allow(req, 'GET', doc);
    return sendContent(req, reply, await versionContent(d, caller.inst, doc, `${doc._id}/${req.params.versionId}`));
  });

  app.post('/downloads', async (req, reply) => {
    const caller = await d.access.caller(req);
    const { doc, versionId } = await downloadTarget(d, req, caller);
    await d.access.allow(req, 'GET', doc);
    if (versionId) await d.svc.index.version(caller.inst, versionId);
    const secret = randomBytes(16).toString('hex');
    const filename = param(req.query, 'Filename');
    const entry: DownloadSecret = { id: doc._id, ...(versionId ? { versionId } : {}), ...(filename ? { filename } : {}) };
    await d.cache.set(secretKey(caller.inst, secret), entry, d.config.downloadLinkTtlSeconds * 1000);
    const rendered = await renderEntry(d, caller.inst, doc);
    const name = encodeURIComponent(filename ?? doc.name);
    return sendJsonApi(reply, 200, { ...rendered, links: { related: `/files/downloads/${secret}/${name}` } });
  });

  // No token: the secret is the credential, as in cozy-stack (a browser follows the link itself).
  app.get<{ Params: { secret: string; name: string } }>('/downloads/:secret/:name', async (req, reply) => {
    const inst = instanceOf(req);
    if (!/^[0-9a-f]{32}$/.test(req.params.secret)) throw KernelErrors.badRequest('Wrong download token');
    const entry = await d.cache.get<DownloadSecret>(secretKey(inst, req.params.secret));
    if (!entry) throw KernelErrors.badRequest('Wrong download token');
    const doc = asFile(await d.svc.stat(inst, entry.id));
    const content = entry.versionId ? await versionContent(d, inst, doc, entry.versionId) : fileContent(d, inst, doc);
    return sendContent(req, reply, content, entry.filename ?? doc.name);
  });
}

async function downloadTarget(d: RouteDeps, req: FastifyRequest, caller: Caller): Promise<{ doc: RegularFileDoc; versionId?: string }> {
  const versionId = param(req.query, 'VersionId');
  if (versionId) {
    const slash = versionId.indexOf('/');
    if (slash <= 0) throw FilesErrors.versionNotFound();
    return { doc: asFile(await d.svc.stat(caller.inst, versionId.slice(0, slash))), versionId };
  }
  const id = param(req.query, 'Id');
  if (id) return { doc: asFile(await d.svc.stat(caller.inst, id)) };
  const path = param(req.query, 'Path');
  if (path) return { doc: asFile(await d.svc.statByPath(caller.inst, path)) };
  throw FilesErrors.notFound();
}
