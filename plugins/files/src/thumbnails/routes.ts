import type { FastifyInstance } from 'fastify';
import { FilesErrors, VfsErrors, defineError, instanceOf, isCozyError, type DocEventBus } from '@cozy-ts/kernel';
import { isThumbFormat, wantsThumbnails } from './formats.ts';
import { placeholder } from './placeholder.ts';
import { ThumbnailSecrets } from './secrets.ts';
import { Thumbnailer, type ThumbnailerDeps, type ThumbnailerOptions } from './thumbnailer.ts';

const FILES_DOCTYPE = 'io.cozy.files';

const wrongToken = defineError('COZY_ERR_FILES_WRONG_TOKEN', 400, 'Wrong download token');
const noFormat = defineError('COZY_ERR_FILES_THUMB_FORMAT', 404, 'Format does not exist');

export interface ThumbnailDeps extends ThumbnailerDeps {
  events: DocEventBus;
  options?: ThumbnailerOptions;
}

/**
 * Everything about thumbnails, built once per plugin (per kernel): the background maker and the link secrets.
 * Wiring, from the files plugin:
 * - `register`: `const thumbnails = new Thumbnails(deps)`; the file serialiser gets `thumbnails.secrets` and adds
 *   `thumbnailLinks(id, await secrets.add(inst, id))` to the `links` of image files (`hasThumbnailLinks(doc)`);
 * - routes: `registerThumbnailRoutes(app, thumbnails)`;
 * - `start`: `thumbnails.start()` (follows io.cozy.files doc events);
 * - `stop`: `await thumbnails.stop()` (drops waiting jobs, waits for the running ones).
 */
export class Thumbnails {
  readonly secrets: ThumbnailSecrets;
  readonly maker: Thumbnailer;

  constructor(readonly deps: ThumbnailDeps) {
    this.secrets = new ThumbnailSecrets(deps.cluster.cache);
    this.maker = new Thumbnailer(deps, deps.options);
  }

  start(): void {
    this.maker.start(this.deps.events);
  }

  stop(): Promise<void> {
    return this.maker.stop();
  }
}

interface ThumbParams {
  id: string;
  secret: string;
  format: string;
}

/**
 * `GET /files/:file-id/thumbnails/:secret/:format` (and HEAD): the secret from the file's `links` is the only
 * credential, as in cozy-stack (an `<img>` cannot send a token). A thumbnail not made yet is asked for and
 * answered by a placeholder image with a 404, so the app shows something and retries later.
 */
export function registerThumbnailRoutes(app: FastifyInstance, thumbnails: Thumbnails): void {
  const { store, vfs } = thumbnails.deps;
  app.get<{ Params: ThumbParams }>('/:id/thumbnails/:secret/:format', async (req, reply) => {
    const inst = instanceOf(req);
    const { id: fileId, secret, format } = req.params;
    const id = await thumbnails.secrets.fileId(inst, secret);
    if (id === undefined || id !== fileId) throw wrongToken();
    let doc;
    try {
      doc = await store.get(inst, FILES_DOCTYPE, fileId);
    } catch (err) {
      if ((err as { status?: number }).status === 404) throw FilesErrors.notFound();
      throw err;
    }
    if (doc.type !== 'file') throw FilesErrors.notFound();
    if (!isThumbFormat(format)) throw noFormat();
    try {
      const stream = await vfs.readThumbnail(inst, fileId, format);
      return reply.type('image/jpeg').send(stream);
    } catch (err) {
      if (!isCozyError(err) || err.code !== VfsErrors.notFound.code) throw err;
    }
    if (wantsThumbnails(doc)) await thumbnails.maker.request(inst, doc, format);
    const ph = await placeholder(format);
    reply.header('etag', ph.etag);
    if (req.headers['if-none-match'] === ph.etag) return reply.status(304).send();
    return reply.status(404).type('image/png').send(ph.png);
  });
}
