import { lstat, mkdir, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { VfsErrors, isValidFileId, isValidThumbFormat, type CozyError, type VersionRef } from '@cozy-ts/kernel';
import { errnoCode, vfsError } from './fs-errors.ts';

/** Where cozy-stack's local layout keeps what is not the user's tree, inside the instance folder. */
export const VERSIONS_DIR = '.cozy_versions';
export const THUMBS_DIR = '.thumbs';
export const TMP_DIR = '.cozy_tmp';
export const THUMB_EXT = '.jpg';
export const DIR_MODE = 0o700;

/** The file id and format of a thumbnail's file name (`<id>-<format>.jpg`: formats have no dash, ids may). */
export function parseThumbnailName(name: string): { id: string; format: string } | null {
  const dash = name.lastIndexOf('-');
  if (dash < 0 || !name.endsWith(THUMB_EXT)) return null;
  const id = name.slice(0, dash);
  const format = name.slice(dash + 1, -THUMB_EXT.length);
  return isValidFileId(id) && isValidThumbFormat(format) ? { id, format } : null;
}

// Domains reach us normalised by the kernel (lower-case unicode labels, optional port). Anything else is a bug
// or an attack: refusing it keeps the folder name a single, plain path segment.
const LABEL = '[\\p{Ll}\\p{Lo}\\p{Lm}\\p{Nd}\\p{Mn}\\p{Mc}_-]+';
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*(?::\\d{1,5})?$`, 'u');

/** The instance's folder name: its domain, as cozy-stack names it (`localhost:8080` included). */
export function instanceFolder(domain: string): string {
  if (!DOMAIN.test(domain) || Buffer.byteLength(domain) > 255) {
    throw VfsErrors.badPath(`Unsafe instance domain for a folder name: ${JSON.stringify(domain.slice(0, 100))}`);
  }
  return domain;
}

/**
 * The layout of one instance's folder, and the checks that keep every access inside it. The root is resolved
 * once with realpath, and names are validated before they get here, so a lexical path is canonical: if
 * realpath(dir) differs from dir, a symbolic link is on the way.
 */
export class InstanceArea {
  constructor(readonly dir: string) {}

  /** A path of the user's tree, from its validated segments. */
  tree(segments: readonly string[]): string {
    return join(this.dir, ...segments);
  }

  /** cozy-stack's `.cozy_versions/<id[:4]>/<id[4:]>`: sub-folders so no folder holds every file's versions. */
  versionsDir(fileId: string): string {
    return join(this.dir, VERSIONS_DIR, fileId.slice(0, 4), fileId.slice(4));
  }

  version(ref: VersionRef): string {
    return join(this.versionsDir(ref.id), ref.internalId);
  }

  thumbsDir(fileId: string): string {
    return join(this.dir, THUMBS_DIR, fileId.slice(0, 4));
  }

  thumbnail(fileId: string, format: string): string {
    return join(this.thumbsDir(fileId), `${fileId}-${format}${THUMB_EXT}`);
  }

  get tmpDir(): string {
    return join(this.dir, TMP_DIR);
  }

  /** Throws unless `dir`, a directory of this area, exists and is reached without any symbolic link. */
  async assertReal(dir: string, onMissing: () => CozyError = () => VfsErrors.parentNotFound()): Promise<void> {
    if (!(await this.existsReal(dir))) throw onMissing();
  }

  /** Like assertReal, but false when `dir` is missing: for operations where absence means nothing to do. */
  async existsReal(dir: string): Promise<boolean> {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw vfsError(err);
    }
    if (real !== dir) throw VfsErrors.unsafePath();
    return true;
  }

  /**
   * mkdir -p for the area's own folders (versions, thumbnails, temporaries). Component by component, because
   * `mkdir({ recursive: true })` follows a planted link and would create folders outside before any check.
   */
  async ensureDir(dir: string): Promise<void> {
    await this.assertReal(this.dir);
    let current = this.dir;
    for (const name of dir.slice(this.dir.length + 1).split(sep)) {
      current = join(current, name);
      await mkdirOnce(current);
    }
  }
}

/** mkdir that accepts an existing directory, and refuses a link (403) or a file (409) in its place. */
export async function mkdirOnce(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw vfsError(err, () => VfsErrors.parentNotFound());
    const st = await lstat(dir);
    if (st.isSymbolicLink()) throw VfsErrors.unsafePath();
    if (!st.isDirectory()) throw VfsErrors.exists('A file is at this path');
  }
}
