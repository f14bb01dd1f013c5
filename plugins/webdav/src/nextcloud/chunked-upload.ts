import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fileSize, type FileDoc } from '@cozy-ts/kernel';
import { DavErrors, evaluateConditional, headerValue, type DavResource, type WriteInput } from '@cozy-ts/dav';
import type { Staging } from './staging.ts';

/*
 * Nextcloud's first chunking scheme, which its desktop client (3.x) uses for every file larger than its chunk size
 * (10 MB by default) whatever the capabilities say: each part is a PUT with `OC-Chunked: 1` to
 * `<name>-chunking-<transfer>-<count>-<index>`. Parts are staged (`staging.ts`). The PUT that completes the set
 * writes the target through the files backend (a new file, or a new version of the existing one) from the parts in
 * order and removes them; it alone is answered with an ETag, which is how the client knows the file is done.
 */

/** Nextcloud's own bound on the chunk count is its chunk size; ours keeps the staging listing small. */
const MAX_CHUNKS = 10_000;

const CHUNK_NAME = /^(.+)-chunking-(\d{1,10})-(\d{1,5})-(\d{1,5})$/;

export interface ChunkRef {
  /** The file being uploaded. */
  target: string;
  transfer: string;
  count: number;
  index: number;
}

/** The part a chunked PUT carries; 400 for a name that is not one. */
export function parseChunkPath(path: string): ChunkRef {
  const slash = path.lastIndexOf('/');
  const m = CHUNK_NAME.exec(path.slice(slash + 1));
  if (!m) throw DavErrors.badRequest('OC-Chunked needs a name <name>-chunking-<transfer>-<count>-<index>');
  const count = Number(m[3]);
  const index = Number(m[4]);
  if (count < 1 || count > MAX_CHUNKS || index >= count) throw DavErrors.badRequest('Bad chunk count or index');
  return { target: `${path.slice(0, slash)}/${m[1]}`.replace(/^\/\//, '/'), transfer: m[2] as string, count, index };
}

/** The conditional headers of a chunked PUT: they are about the target, which the DAV core never sees. */
const conditions = new WeakMap<FastifyRequest, { ifMatch?: string; ifNoneMatch?: string }>();

/**
 * Takes `If-Match` / `If-None-Match` off chunked PUTs before the DAV core evaluates them against the part's
 * name (where the client's `If-Match` of the target would always fail); they are checked against the target when
 * the parts are put together.
 */
export function holdChunkConditions(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    if (req.method !== 'PUT' || req.headers['oc-chunked'] === undefined) return;
    const held = { ifMatch: headerValue(req.headers, 'if-match'), ifNoneMatch: headerValue(req.headers, 'if-none-match') };
    delete req.headers['if-match'];
    delete req.headers['if-none-match'];
    conditions.set(req, held);
  });
}

/**
 * `If-Match` / `If-None-Match` about the file an upload's parts will become (the DAV core only ever saw the part's
 * or the upload's own name): the core's evaluation, against the target as it is now.
 */
export function checkUploadTarget(held: { ifMatch?: string; ifNoneMatch?: string }, target: DavResource | null): void {
  const outcome = evaluateConditional({ 'if-match': held.ifMatch, 'if-none-match': held.ifNoneMatch }, { exists: target !== null, etag: target?.etag }, false);
  if (outcome !== 'proceed') throw DavErrors.preconditionFailed();
}

export function checkTargetConditions(req: FastifyRequest, target: DavResource | null): void {
  const held = conditions.get(req);
  if (held) checkUploadTarget(held, target);
}

const partName = (index: number): string => String(index).padStart(5, '0');

/**
 * Stages one part, then, when every part is there, writes the target with `finish` and removes the parts.
 * Returns what `finish` returned, or null while parts are missing.
 */
export async function putChunk(staging: Staging, ref: ChunkRef, input: WriteInput, totalLength: number | undefined, finish: (body: Readable, size: number) => Promise<DavResource>): Promise<DavResource | null> {
  const transfer = `v1-${ref.transfer}-${ref.count}-${createHash('sha1').update(ref.target).digest('hex').slice(0, 16)}`;
  let dir: FileDoc;
  try {
    dir = await staging.open(transfer, totalLength);
  } catch (err) {
    if (!input.body.destroyed) input.body.destroy();
    throw err;
  }
  await staging.writePart(dir, partName(ref.index), input);
  // One process at a time looks at a transfer's parts, so two last parts cannot both assemble it.
  return staging.withTransferLock(transfer, async () => {
    const parts = await staging.parts(dir);
    if (!parts || parts.length !== ref.count || parts.some((p, i) => p.name !== partName(i))) return null;
    const size = parts.reduce((n, p) => n + fileSize(p), 0);
    // Whatever happens now, the parts have served: a client that retries starts a new transfer or sends every
    // part again (resuming, it sends them all, starting from the one after the last it saw acknowledged).
    try {
      if (totalLength !== undefined && size !== totalLength) throw DavErrors.badRequest(`The parts add up to ${size} bytes, not the announced ${totalLength}`);
      return await finish(staging.concat(parts), size);
    } finally {
      await staging.remove(dir).catch(() => undefined);
    }
  });
}
