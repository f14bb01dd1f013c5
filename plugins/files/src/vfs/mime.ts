import { extname } from 'node:path/posix';
import mimeTypes from 'mime-types';

export const DEFAULT_MIME = 'application/octet-stream';
const SHORTCUT_MIME = 'application/internet-shortcut';

/** Types cozy-stack's `filetype.ByExtension` names differently from the mime database. */
const COZY_EXTENSIONS: Record<string, string> = {
  '.url': SHORTCUT_MIME,
  '.cozy-note': 'text/vnd.cozy.note+markdown',
  '.md': 'text/markdown',
};

const CLASSES: Record<string, string> = {
  [DEFAULT_MIME]: 'files',
  'application/x-apple-diskimage': 'binary',
  'application/x-msdownload': 'binary',
  'text/html': 'code', 'text/css': 'code', 'text/xml': 'code', 'application/js': 'code', 'text/x-c': 'code',
  'text/x-go': 'code', 'text/x-python': 'code', 'application/x-ruby': 'code',
  'application/pdf': 'pdf',
  'application/vnd.ms-powerpoint': 'slide', 'application/x-iwork-keynote-sffkey': 'slide',
  'application/vnd.oasis.opendocument.presentation': 'slide', 'application/vnd.oasis.opendocument.graphics': 'slide',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'slide',
  'application/vnd.ms-excel': 'spreadsheet', 'application/x-iwork-numbers-sffnumbers': 'spreadsheet',
  'application/vnd.oasis.opendocument.spreadsheet': 'spreadsheet',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'spreadsheet',
  'application/msword': 'text', 'application/x-iwork-pages-sffpages': 'text',
  'application/vnd.oasis.opendocument.text': 'text',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'text',
  'application/x-7z-compressed': 'zip', 'application/x-rar-compressed': 'zip', 'application/zip': 'zip',
  'application/gzip': 'zip', 'application/x-tar': 'zip',
  [SHORTCUT_MIME]: 'shortcut',
};

/** cozy-stack's `ExtractMimeAndClass`: parameters dropped, class from its table or the type's first part. */
export function mimeAndClass(contentType: string | undefined): { mime: string; class: string } {
  const mime = (contentType || DEFAULT_MIME).split(';')[0]!.trim().toLowerCase() || DEFAULT_MIME;
  const known = CLASSES[mime];
  if (known) return { mime, class: known };
  const slash = mime.indexOf('/');
  return { mime, class: slash >= 0 ? mime.slice(0, slash) : mime };
}

/** cozy-stack's `ExtractMimeAndClassFromFilename`: by extension, `application/octet-stream` when unknown. */
export function mimeAndClassFromName(name: string): { mime: string; class: string } {
  const ext = extname(name).toLowerCase();
  const byCozy = COZY_EXTENSIONS[ext];
  const guessed = byCozy ?? (ext ? mimeTypes.lookup(ext) : false);
  return mimeAndClass(guessed || DEFAULT_MIME);
}

/**
 * The type of an upload, as cozy-stack's FileDocFromReq: the request's Content-Type unless it is missing or
 * generic, in which case the name decides.
 */
export function uploadMimeAndClass(contentType: string | undefined, name: string): { mime: string; class: string } {
  const given = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!given || given === DEFAULT_MIME) return mimeAndClassFromName(name);
  return mimeAndClass(given);
}

/** A syntactically valid `type/subtype` (cozy-stack refuses others with ErrIllegalMime). */
export function isValidMime(mime: string): boolean {
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(mime);
}
