import type { PermissionSet } from '@cozy-ts/kernel';

const FILES = 'io.cozy.files';
/** Synthetic doctypes whose events are about files: watching them takes a permission on io.cozy.files. */
const FILE_EVENTS = new Set(['io.cozy.files.thumbnails', 'io.cozy.notes.events']);
/** Synthetic doctypes any authenticated socket may follow (cozy-stack checks nothing for them). */
const OPEN_TO_ALL = new Set(['io.cozy.sharings.initial_sync', 'io.cozy.auth.confirmations']);
const SETTINGS = 'io.cozy.settings';
const PASSPHRASE_SETTINGS = 'io.cozy.settings.passphrase';
const INSTANCE_SETTINGS = 'io.cozy.settings.instance';

/**
 * Whether a socket holding `perms` may (un)subscribe to `doctype`, or to one document of it when `id` is not
 * empty: GET on the whole doctype, or GET on that id. cozy-stack's `authorized`, with its synthetic doctypes.
 *
 * cozy-stack checks an io.cozy.files id against the VFS tree (a rule on a folder covers what is inside it);
 * without a VFS capability here, an id is only matched against the rule's own values.
 */
export function maySubscribe(perms: PermissionSet, doctype: string, id: string): boolean {
  if (OPEN_TO_ALL.has(doctype)) return true;
  const permType = FILE_EVENTS.has(doctype) ? FILES : doctype;
  // The passphrase document is synthetic; a permission on the instance settings is enough to watch it.
  const permId = permType === SETTINGS && id === PASSPHRASE_SETTINGS ? INSTANCE_SETTINGS : id;
  if (perms.allowWholeType('GET', permType)) return true;
  return permId !== '' && perms.allowId('GET', permType, permId);
}
