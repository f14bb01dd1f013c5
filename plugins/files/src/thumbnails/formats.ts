/** cozy-stack's thumbnail formats (vfs.ThumbnailFormatNames), in the order links list them. */
export const THUMB_FORMATS = ['tiny', 'small', 'medium', 'large'] as const;

export type ThumbFormat = (typeof THUMB_FORMATS)[number];

export interface ThumbSpec {
  width: number;
  height: number;
  /**
   * ImageMagick's `WxH>` (shrink only) for every format but tiny, which cozy-stack asks as `96x96`: a smaller
   * image is enlarged to fill it.
   */
  enlarge: boolean;
  /** JPEG quality: cozy-stack's 82, and 99 at tiny resolution where artefacts show most. */
  quality: number;
}

/** worker/thumbnail's geometry: the image is fitted inside the box, keeping its aspect ratio. */
export const THUMB_SPECS: Readonly<Record<ThumbFormat, ThumbSpec>> = Object.freeze({
  tiny: { width: 96, height: 96, enlarge: true, quality: 99 },
  small: { width: 640, height: 480, enlarge: false, quality: 82 },
  medium: { width: 1280, height: 720, enlarge: false, quality: 82 },
  large: { width: 1920, height: 1080, enlarge: false, quality: 82 },
});

export function isThumbFormat(format: string): format is ThumbFormat {
  return (THUMB_FORMATS as readonly string[]).includes(format);
}

/** What a thumbnail is made from: an image, or the first page of a PDF. */
export type ThumbSource = 'image' | 'pdf';

/** The kind of thumbnails a document's class gives it, whatever its size or state. */
export function thumbSource(doc: Readonly<Record<string, unknown>>): ThumbSource | undefined {
  if (doc.type !== 'file') return undefined;
  if (doc.class === 'image') return 'image';
  if (doc.class === 'pdf') return 'pdf';
  return undefined;
}

/**
 * Files cozy-stack makes thumbnails of: class `image` or `pdf`, below 100 MB (5 MB for Photoshop files, which
 * decode into far more memory than their size), not in the trash.
 */
export function wantsThumbnails(doc: Readonly<Record<string, unknown>>): boolean {
  if (thumbSource(doc) === undefined || doc.trashed === true) return false;
  const size = Number(doc.size);
  const limit = doc.mime === 'image/vnd.adobe.photoshop' ? 5 * 1024 * 1024 : 100 * 1024 * 1024;
  return Number.isFinite(size) && size < limit;
}
