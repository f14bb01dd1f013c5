import { FILES_DOCTYPE, type PermissionSet } from '@cozy-ts/kernel';
import { verbsFor } from '../access.ts';

/** What one caller may do to the tree, read once per request from its permission set. */
export interface TreeRights {
  /** PUT over an existing file (Nextcloud's W) and PUT of a new one (C). */
  write: boolean;
  /** MKCOL (K). */
  mkdir: boolean;
  /** DELETE (D). */
  remove: boolean;
  /** MOVE (N and V: rename and move are one verb set here). */
  move: boolean;
}

/** The rights behind each DAV method, as `access.ts` enforces them, so the letters never promise a 403. */
export function treeRights(perms: PermissionSet): TreeRights {
  const can = (method: string) => verbsFor(method).every((verb) => perms.allowWholeType(verb, FILES_DOCTYPE));
  return { write: can('PUT'), mkdir: can('MKCOL'), remove: can('DELETE'), move: can('MOVE') };
}

/**
 * `oc:permissions` of an entry, in Nextcloud's letters and order (G read, D delete, N rename, V move, W write a
 * file, C create a file and K a folder in a directory). No S, R or M: nothing here is shared or mounted, and
 * sharing is not offered over this API. The root can be neither deleted nor renamed nor moved.
 */
export function permissionLetters(rights: TreeRights, entry: { collection: boolean; root: boolean }): string {
  let p = 'G';
  if (!entry.root) {
    if (rights.remove) p += 'D';
    if (rights.move) p += 'NV';
  }
  if (!entry.collection) return rights.write ? `${p}W` : p;
  if (rights.write) p += 'C';
  if (rights.mkdir) p += 'K';
  return p;
}
