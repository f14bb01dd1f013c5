import { randomBytes } from 'node:crypto';
import type { Cache, InstanceRef } from '@cozy-ts/kernel';
import { THUMB_FORMATS } from './formats.ts';

/** cozy-stack's storeTTL: a thumbnail link works for ten minutes after the listing that gave it. */
export const THUMB_SECRET_TTL_MS = 10 * 60 * 1000;
const SECRET = /^[0-9a-f]{16}$/;

function key(inst: InstanceRef, secret: string): string {
  return `files:thumb:${inst.prefix}:${secret}`;
}

/**
 * Secrets of thumbnail links (cozy-stack's vfs.Store AddThumb / GetThumb): `<img src>` cannot carry a token, so a
 * serialised image file gets links with a short-lived secret that stands for its id. Kept in the cluster cache so
 * any process of a farm can serve the link.
 *
 * The file serialiser uses {@link thumbnailLinks} for every image file it renders.
 */
export class ThumbnailSecrets {
  constructor(private readonly cache: Cache) {}

  /** A new secret for the file: 16 hex chars, as cozy-stack's makeSecret. */
  async add(inst: InstanceRef, fileId: string): Promise<string> {
    const secret = randomBytes(8).toString('hex');
    await this.cache.set(key(inst, secret), fileId, THUMB_SECRET_TTL_MS);
    return secret;
  }

  /** One secret per file, for a listing (cozy-stack's AddThumbs). */
  async addMany(inst: InstanceRef, fileIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      [...new Set(fileIds)].map(async (id) => {
        out.set(id, await this.add(inst, id));
      }),
    );
    return out;
  }

  /** The file id a secret stands for; undefined when unknown or expired. */
  async fileId(inst: InstanceRef, secret: string): Promise<string | undefined> {
    if (!SECRET.test(secret)) return undefined;
    const id = await this.cache.get<string>(key(inst, secret));
    return typeof id === 'string' ? id : undefined;
  }
}

/** Files cozy-stack gives thumbnail links to (it makes them for images; PDFs get the links too). */
export function hasThumbnailLinks(doc: Readonly<Record<string, unknown>>): boolean {
  return doc.type === 'file' && (doc.class === 'image' || doc.class === 'pdf');
}

/** The `links` of a file's JSON:API resource for thumbnails: `{ tiny, small, medium, large }`. */
export function thumbnailLinks(fileId: string, secret: string): Record<(typeof THUMB_FORMATS)[number], string> {
  const base = `/files/${encodeURIComponent(fileId)}/thumbnails/${secret}`;
  return { tiny: `${base}/tiny`, small: `${base}/small`, medium: `${base}/medium`, large: `${base}/large` };
}
