import { isValidDoctypeName } from './doctype.ts';

/**
 * cozy-stack's block list (model/permission/doctype.go): doctypes only the stack may write, some of which
 * nobody may even read through the generic APIs. `true` = readable.
 */
const RESERVED: ReadonlyMap<string, boolean> = new Map([
  // Global databases
  ['io.cozy.instances', false],
  ['io.cozy.account_types', false],
  ['io.cozy.konnectors.maintenance', false],
  ['io.cozy.remote.secrets', false],
  // Only the stack manipulates them
  ['io.cozy.sessions', false],
  ['io.cozy.permissions', false],
  ['io.cozy.intents', false],
  ['io.cozy.oauth.clients', false],
  ['io.cozy.oauth.access_codes', false],
  // cozy-ts: hashes of device passwords (Basic auth for DAV clients)
  ['io.cozy.auth.device_passwords', false],
  ['io.cozy.files.archives', false],
  ['io.cozy.sharings', false],
  ['io.cozy.shared', false],
  ['io.cozy.accounts.soft_deleted', false],
  // Synthetic doctypes (API only)
  ['io.cozy.certified.carbon_copy', false],
  ['io.cozy.certified.electronic_safe', false],
  ['io.cozy.files.sizes', false],
  ['io.cozy.triggers.state', false],
  ['io.cozy.sharings.answer', false],
  ['io.cozy.sharings.moved', false],
  ['io.cozy.support', false],
  ['com.bitwarden.profiles', false],
  ['io.cozy.office.url', false],
  ['io.cozy.notes.url', false],
  ['io.cozy.apps.open', false],
  // Synthetic doctypes (realtime events only)
  ['io.cozy.auth.confirmations', false],
  ['io.cozy.jobs.events', false],
  ['io.cozy.sharings.initial_sync', false],
  ['io.cozy.notes.events', false],
  ['io.cozy.notes.telepointers', false],
  ['io.cozy.files.thumbnails', false],
  ['io.cozy.apps.logs', false],
  // Only the stack writes them
  ['io.cozy.jobs', true],
  ['io.cozy.triggers', true],
  ['io.cozy.apps', true],
  ['io.cozy.konnectors', true],
  ['io.cozy.files', true],
  ['io.cozy.files.versions', true],
  ['io.cozy.notifications', true],
  ['io.cozy.remote.requests', true],
  ['io.cozy.sessions.logins', true],
  ['io.cozy.notes.steps', true],
  ['io.cozy.notes.images', true],
  ['com.bitwarden.contacts', true],
]);

/** cozy's CheckReadable as a predicate: a plain (non-wildcard) valid name, not blocked for reading. */
export function isReadableDoctype(doctype: string): boolean {
  return isValidDoctypeName(doctype, false) && RESERVED.get(doctype) !== false;
}

/** cozy's CheckWritable as a predicate: a plain (non-wildcard) valid name that is not reserved at all. */
export function isWritableDoctype(doctype: string): boolean {
  return isValidDoctypeName(doctype, false) && !RESERVED.has(doctype);
}
