import type { Readable } from 'node:stream';
import type { PdfRenderer } from './pdf-renderer.ts';
import { loadSharp } from './sharp-loader.ts';
import { THUMB_SPECS, type ThumbFormat } from './formats.ts';

/** Largest source read into memory (cozy-stack does not thumbnail files of 100 MB or more, images or PDFs). */
export const MAX_SOURCE_BYTES = 100 * 1024 * 1024;
/** Decoded pixels allowed (a 16k x 16k image): a small file that decodes into gigabytes is refused. */
const MAX_PIXELS = 16_384 * 16_384;

/** The order cozy-stack makes them in: each from the previous one, so only the first step decodes the original. */
const CHAIN: readonly ThumbFormat[] = ['large', 'medium', 'small', 'tiny'];

export async function readAll(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > max) throw new Error(`source larger than ${max} bytes`);
      chunks.push(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, size);
}

/** One format from a source image, as worker/thumbnail's ImageMagick call: oriented, stripped, sRGB, on white, JPEG. */
async function resize(source: Buffer, format: ThumbFormat): Promise<Buffer> {
  const spec = THUMB_SPECS[format];
  const sharp = await loadSharp();
  return sharp(source, { limitInputPixels: MAX_PIXELS, failOn: 'error', pages: 1 })
    .rotate()
    .resize({ width: spec.width, height: spec.height, fit: 'inside', withoutEnlargement: !spec.enlarge })
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .jpeg({ quality: spec.quality, progressive: false, mozjpeg: false })
    .toBuffer();
}

/**
 * The four thumbnails of an image, made one after the other; `write` is called for each as soon as it is ready
 * (largest first). Rejects on an image that cannot be decoded. The source is read whole into memory (sharp needs
 * the complete input): callers bound its size with {@link MAX_SOURCE_BYTES} and run few of these at once.
 */
export async function makeThumbnails(source: Readable, write: (format: ThumbFormat, jpeg: Buffer) => Promise<void>): Promise<void> {
  let current = await readAll(source, MAX_SOURCE_BYTES);
  for (const format of CHAIN) {
    current = await resize(current, format);
    await write(format, current);
  }
}

/**
 * One format of a PDF: its first page rendered straight at the format's size (as ImageMagick's `-[0]` at 72 dpi,
 * then fitted in the box), on white, encoded as the image thumbnails are. Rejects with a PdfRenderError on a file
 * that cannot be rendered in the renderer's time and memory bounds.
 */
export async function makePdfThumbnail(renderer: PdfRenderer, pdf: Uint8Array, format: ThumbFormat): Promise<Buffer> {
  const spec = THUMB_SPECS[format];
  const page = await renderer.render(pdf, spec);
  const sharp = await loadSharp();
  // The renderer rounds the page out to whole pixels: a last fit keeps the result inside the box.
  return sharp(page.pixels, { raw: { width: page.width, height: page.height, channels: page.channels } })
    .resize({ width: spec.width, height: spec.height, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .jpeg({ quality: spec.quality, progressive: false, mozjpeg: false })
    .toBuffer();
}
