import { randomInt } from 'node:crypto';
import { extname } from 'node:path/posix';
import { FilesErrors, TRASH_DIR_NAME, VFS_RESERVED_NAMES } from '@cozy-ts/kernel';

/** cozy-stack's ForbiddenFilenameChars. */
const FORBIDDEN = /[/\0\n\r]/;
const MAX_NAME_BYTES = 255;
/** cozy-stack's MaxDepth: deeper paths are refused (and stop runaway walks). */
export const MAX_DEPTH = 512;

/**
 * Throws `badName` (422, source `name`) for a name cozy-stack refuses, plus names over 255 bytes (no disk takes
 * them). Names are never normalised: NFC and NFD spellings are distinct entries, as on cozy-stack.
 */
export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || FORBIDDEN.test(name) || Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw FilesErrors.badName(undefined, { source: { parameter: 'name' } });
  }
}

/** The root keeps the backend's reserved names and the trash's name for the stack. */
export function checkRootChildName(name: string): void {
  if (name === TRASH_DIR_NAME || VFS_RESERVED_NAMES.includes(name)) {
    throw FilesErrors.badName(`The name ${JSON.stringify(name)} is reserved`, { source: { parameter: 'name' } });
  }
}

export function joinPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The segments of an absolute path; `badPath` (400) for a relative one, `badName` for a bad segment. */
export function pathSegments(path: unknown): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) throw FilesErrors.badPath(undefined, { source: { parameter: 'Path' } });
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (trimmed === '/') return [];
  const segments = trimmed.slice(1).split('/');
  if (segments.length >= MAX_DEPTH) throw FilesErrors.badPath('Invalid path: too many levels', { source: { parameter: 'Path' } });
  for (const s of segments) checkName(s);
  return segments;
}

/** cozy-stack's `fileCopyName`: `name (copy).ext`. */
export function copyName(name: string): string {
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)} (copy)${ext}`;
}

/**
 * cozy-stack's `ConflictName`: `name (2).ext`, or the next number when the name already ends with one. `taken`
 * says whether a candidate is in use; after 1000 tries the last candidate is returned (the caller's check fails).
 */
export async function numberedName(name: string, isFile: boolean, taken: (candidate: string) => Promise<boolean>): Promise<string> {
  const ext = isFile ? extname(name) : '';
  let base = name.slice(0, name.length - ext.length);
  let i = 2;
  const m = /^(.*) \((\d+)\)$/.exec(base);
  if (m && m[1]) {
    i = Number(m[2]) + 1;
    base = m[1];
  }
  let candidate = `${base} (${i})${ext}`;
  for (; i < 1000; i++) {
    candidate = `${base} (${i})${ext}`;
    if (!(await taken(candidate))) return candidate;
  }
  return candidate;
}

/** cozy-stack's trash and restore suffix: `name (123456789)` with a random number (`conflictFormat`). */
export function suffixedName(name: string): string {
  return `${name} (${String(randomInt(0, 1_000_000_000)).padStart(9, '0')})`;
}

/** cozy-stack's `stripConflictSuffix`: drops a trailing ` (digits)` added on a clash in the trash. */
export function stripConflictSuffix(name: string): string {
  const loc = name.lastIndexOf('(');
  if (loc <= 0) return name;
  for (let i = loc; i < name.length; i++) {
    if (!'()0123456789'.includes(name[i] as string)) return name;
  }
  return name.slice(0, loc - 1);
}

/** cozy-stack's `uniqueTags`: trimmed, no empty, no duplicate, order kept. */
export function uniqueTags(tags: readonly unknown[]): string[] {
  const seen = new Set<string>();
  for (const t of tags) {
    if (typeof t !== 'string') continue;
    const tag = t.trim();
    if (tag) seen.add(tag);
  }
  return [...seen];
}
