import type { FileDoc } from '@cozy-ts/kernel';

/**
 * How trashed entries are named in Nextcloud's trash bin, from our trash's documents.
 *
 * Our trash holds entries under their name, suffixed ` (123456789)` when the name was taken there (cozy-stack's
 * conflict suffix, which restore drops). Nextcloud names a trashed entry `<name>.d<deletion time>`; built on our
 * trash name, that is unique within the trash since the trash names are, and the deletion time keeps an address
 * from reaching an entry trashed again later under the same name.
 */

/** Unix seconds of the moment the entry went to the trash, 0 when unknown (Nextcloud's value then too). */
export function deletionTime(doc: FileDoc): number {
  const at = doc.cozyMetadata?.trashedAt;
  const ms = typeof at === 'string' ? Date.parse(at) : Number.NaN;
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

/** The member name of a top-level trash entry: Nextcloud's `<name>.d<time>`, the bare name without a time. */
export function memberName(doc: FileDoc): string {
  const t = deletionTime(doc);
  return t ? `${doc.name}.d${t}` : doc.name;
}

/** The trash names a member name may stand for (the one to use is the entry whose `memberName` gives it back). */
export function candidateNames(member: string): string[] {
  const m = /^(.+)\.d\d+$/.exec(member);
  return m ? [m[1] as string, member] : [member];
}

/**
 * cozy-stack's `stripConflictSuffix`: the name without a trailing ` (digits)`, which is the name restore gives
 * back, so `nc:trashbin-filename` shows what a restore will make.
 */
export function originalName(trashName: string): string {
  const loc = trashName.lastIndexOf('(');
  if (loc <= 0 || !/^[()0-9]+$/.test(trashName.slice(loc))) return trashName;
  return trashName.slice(0, loc - 1);
}

/** Nextcloud's original location: the path from the user's root, without a leading slash, name included. */
export function originalLocation(restoreDir: string | undefined, name: string): string {
  const dir = (restoreDir ?? '/').replace(/^\/+|\/+$/g, '');
  return dir ? `${dir}/${name}` : name;
}
