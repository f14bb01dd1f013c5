import type { FastifyInstance, FastifyRequest } from 'fastify';
import { instanceOf, isDir, type FileDoc } from '@cozy-ts/kernel';
import { ocMtime } from '@cozy-ts/dav';
import { md5Hex } from '../files-backend.ts';
import { davFileId } from './file-ids.ts';

/**
 * The documents a Nextcloud-mount request wrote or read, by request: the DAV core's answer carries the standard
 * headers only, and the Nextcloud ones are added on the way out.
 */
const written = new WeakMap<FastifyRequest, FileDoc>();
const read = new WeakMap<FastifyRequest, FileDoc>();

export function recordWritten(req: FastifyRequest, doc: FileDoc): void {
  written.set(req, doc);
}

export function recordRead(req: FastifyRequest, doc: FileDoc): void {
  read.set(req, doc);
}

/** Whole seconds of the `X-OC-Mtime` a client sent, when it is one the core would use. */
function askedMtime(req: FastifyRequest): number | undefined {
  const d = ocMtime(req.headers);
  return d && Math.floor(d.getTime() / 1000);
}

/**
 * Nextcloud's response headers on its DAV mounts:
 * - PUT and MKCOL: `OC-FileId` (clients record the id without a PROPFIND; `oc:id`'s form, which the desktop
 *   client compares with the one it lists) and, for files, `OC-ETag`;
 * - PUT: `X-OC-MTime: accepted` only when the stored modification time is the one sent (the files backend drops
 *   a time before the file's creation, which the core cannot know);
 * - GET of a whole file: `OC-Checksum: MD5:<hex>`, which clients check the download against.
 */
export function addNextcloudHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply) => {
    const doc = written.get(req);
    if (doc && (reply.statusCode === 201 || reply.statusCode === 204)) {
      void reply.header('oc-fileid', davFileId(doc._id, instanceOf(req)));
      const etag = reply.getHeader('etag');
      if (!isDir(doc) && typeof etag === 'string') void reply.header('oc-etag', etag);
      const mtime = askedMtime(req);
      if (mtime !== undefined && Math.floor(Date.parse(doc.updated_at) / 1000) !== mtime) reply.removeHeader('x-oc-mtime');
    }
    const got = read.get(req);
    const md5 = got && reply.statusCode === 200 ? md5Hex(got) : undefined;
    if (md5) void reply.header('oc-checksum', `MD5:${md5}`);
  });
}
