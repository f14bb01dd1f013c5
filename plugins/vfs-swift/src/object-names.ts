/**
 * cozy-stack's Swift layout v3 (`model/vfs/vfsswift/impl_v3.go`, `thumbs_v3.go`), so a container written by one
 * can be read by the other:
 * - one container per instance, `cozy-v3-<db prefix>`;
 * - a content version is `<id[:22]>/<id[22:27]>/<id[27:]>/<internal id>` for cozy's 32-char ids and 16-char
 *   internal ids, `<id>/<internal id>` otherwise; current contents and versions are alike, only the index tells;
 * - a thumbnail is `thumbs/<id[:22]>/<id[22:27]>/<id[27:]>-<format>` (`thumbs/<id>-<format>` for other ids).
 * Ours only: the segments of a large object live under `.segments/<object name>/<writer>/<n>`. A file id never
 * starts with a dot, so no content name can fall there; the id `thumbs` is refused (its objects would mix with
 * the thumbnails).
 */
import { VfsErrors, checkFileId, checkThumbnailRef, checkVersionRef, type VersionRef } from '@cozy-ts/kernel';

export const THUMBS_PREFIX = 'thumbs/';
export const SEGMENTS_PREFIX = '.segments/';

export function containerName(prefix: string, dbPrefix: string): string {
  // The db prefix is made by the kernel; checked all the same, as it becomes part of a URL path.
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(dbPrefix)) throw VfsErrors.badId(`Invalid instance prefix: ${JSON.stringify(dbPrefix.slice(0, 80))}`);
  return `${prefix}${dbPrefix}`;
}

function checkId(id: string): void {
  checkFileId(id);
  if (id === 'thumbs') throw VfsErrors.badId('The file id "thumbs" is reserved by the Swift layout');
}

/** cozy-stack's `MakeObjectName`: a 32-char id split into virtual folders. */
function idPath(id: string): string {
  return id.length === 32 ? `${id.slice(0, 22)}/${id.slice(22, 27)}/${id.slice(27)}` : id;
}

/** The object of one content version (cozy-stack's `MakeObjectNameV3`). */
export function contentName(ref: VersionRef): string {
  checkVersionRef(ref);
  checkId(ref.id);
  return ref.id.length === 32 && ref.internalId.length === 16 ? `${idPath(ref.id)}/${ref.internalId}` : `${ref.id}/${ref.internalId}`;
}

/**
 * The listing prefixes under which a file's content versions may be: both spellings for a 32-char id (its
 * 16-char internal ids use the split one, others the plain one). Listings under them must be filtered with
 * {@link parseContentName}: `<id>/` of a 22-char id is also the start of the split names of 32-char ids.
 */
export function contentPrefixes(id: string): string[] {
  checkId(id);
  return id.length === 32 ? [`${idPath(id)}/`, `${id}/`] : [`${id}/`];
}

export function thumbnailName(id: string, format: string): string {
  checkThumbnailRef(id, format);
  return `${THUMBS_PREFIX}${idPath(id)}-${format}`;
}

export function thumbnailPrefix(id: string): string {
  checkFileId(id);
  return `${THUMBS_PREFIX}${idPath(id)}-`;
}

/** The id and internal id an object name stands for, or null for a name that is not a content's. */
export function parseContentName(name: string): VersionRef | null {
  const parts = name.split('/');
  let ref: VersionRef | null = null;
  if (parts.length === 4 && parts[0].length === 22 && parts[1].length === 5 && parts[2].length === 5 && parts[3].length === 16) {
    ref = { id: parts[0] + parts[1] + parts[2], internalId: parts[3] };
  } else if (parts.length === 2) {
    ref = { id: parts[0], internalId: parts[1] };
  }
  if (!ref) return null;
  try {
    // Round trip: only the name this layout gives the pair counts (no second spelling of one content).
    return contentName(ref) === name ? ref : null;
  } catch {
    return null;
  }
}

/** The id and format a thumbnail's object name stands for, or null. */
export function parseThumbnailName(name: string): { id: string; format: string } | null {
  if (!name.startsWith(THUMBS_PREFIX)) return null;
  const rest = name.slice(THUMBS_PREFIX.length);
  const dash = rest.lastIndexOf('-');
  if (dash <= 0) return null;
  const format = rest.slice(dash + 1);
  const parts = rest.slice(0, dash).split('/');
  const id = parts.length === 3 && parts[0].length === 22 && parts[1].length === 5 && parts[2].length === 5 ? parts.join('') : parts.length === 1 ? parts[0] : null;
  if (id === null) return null;
  try {
    return thumbnailName(id, format) === name ? { id, format } : null;
  } catch {
    return null;
  }
}

/** The prefix of every segment a writer puts for the object `name`. */
export function segmentsPrefix(name: string, writer: string): string {
  return `${SEGMENTS_PREFIX}${name}/${writer}/`;
}

/** `.segments/<object name>/<writer>/<n>` → its object name and writer, or null. */
export function parseSegmentName(name: string): { object: string; writer: string } | null {
  if (!name.startsWith(SEGMENTS_PREFIX)) return null;
  const parts = name.slice(SEGMENTS_PREFIX.length).split('/');
  if (parts.length < 4) return null;
  return { object: parts.slice(0, -2).join('/'), writer: parts[parts.length - 2] };
}
