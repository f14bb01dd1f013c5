import { createHash } from 'node:crypto';
import { loadSharp } from './sharp-loader.ts';
import { THUMB_SPECS, type ThumbFormat } from './formats.ts';

export interface Placeholder {
  png: Buffer;
  etag: string;
}

/** A plain light tile the size of the format's box, the colour of cozy's empty thumbnails. */
async function render(format: ThumbFormat): Promise<Placeholder> {
  const { width, height } = THUMB_SPECS[format];
  const sharp = await loadSharp();
  const png = await sharp({ create: { width, height, channels: 3, background: '#f5f6f7' } })
    .png({ compressionLevel: 9, palette: true })
    .toBuffer();
  return { png, etag: `"${createHash('sha256').update(png).digest('hex').slice(0, 16)}"` };
}

const cache = new Map<ThumbFormat, Promise<Placeholder>>();

/** What is served, with a 404, while a thumbnail is not made yet (cozy-stack's placeholders/thumbnail-<format>.png). */
export function placeholder(format: ThumbFormat): Promise<Placeholder> {
  let hit = cache.get(format);
  if (!hit) {
    hit = render(format);
    cache.set(format, hit);
    hit.catch(() => cache.delete(format));
  }
  return hit;
}
