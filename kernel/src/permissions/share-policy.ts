import type { AuthKind, RequestAuth } from '../auth/auth-service.ts';
import { isValidDoctypeName, typeCovers } from './doctype.ts';
import { PermissionErrors } from './errors.ts';
import type { PermissionRecord } from './permission-record.ts';
import { PermissionSet } from './permission-set.ts';
import { isWritableDoctype } from './reserved-doctypes.ts';
import { ShareErrors } from './share-errors.ts';

/** Who asks, as the share-by-link rules see a request's authentication. */
export interface PermissionCaller {
  kind: AuthKind;
  permissions: PermissionSet;
  /** The stored permission document behind the token (app, konnector, share), if any. */
  docId?: string;
  /** What the shares it creates are attributed to; '' when the token names nobody (CLI, share, device). */
  sourceId: string;
  /** Who is named in cozyMetadata. */
  slug?: string;
}

const APPS = 'io.cozy.apps';
const FILES = 'io.cozy.files';
// An OAuth client registered by an app's mobile or desktop version names it as registry://<slug>.
const LINKED_APP_PREFIX = 'registry://';

/** Kinds of token that act for an app or the owner, and so may create and manage shares by link. */
const MANAGERS: ReadonlySet<AuthKind> = new Set(['app', 'konnector', 'oauth', 'cli']);

function linkedAppSlug(auth: RequestAuth): string | undefined {
  const softwareId = auth.client?.software_id;
  if (typeof softwareId !== 'string' || !softwareId.startsWith(LINKED_APP_PREFIX)) return undefined;
  return softwareId.slice(LINKED_APP_PREFIX.length) || undefined;
}

export function callerOf(auth: RequestAuth): PermissionCaller {
  const base = { kind: auth.kind, permissions: auth.permissions, docId: auth.record?._id };
  switch (auth.kind) {
    case 'app':
    case 'konnector':
      return { ...base, sourceId: auth.record?.source_id ?? '', slug: auth.subject };
    case 'oauth': {
      // A linked app's client acts as the app itself, so the app's web version can manage its shares
      // (cozy-stack's HandleCreateShareByLink). Otherwise the source is the bare client id, as cozy's.
      const linked = linkedAppSlug(auth);
      return linked ? { ...base, sourceId: `${APPS}/${linked}`, slug: linked } : { ...base, sourceId: auth.subject, slug: auth.subject };
    }
    default:
      // A share token is not its creator: it may not act on the creator's other shares.
      return { ...base, sourceId: '' };
  }
}

function isManager(caller: PermissionCaller): boolean {
  return MANAGERS.has(caller.kind);
}

/** The rules of a stored document; a malformed one grants nothing, so every subset check on it fails. */
function storedSet(doc: PermissionRecord): PermissionSet | null {
  try {
    return PermissionSet.fromManifest(doc.permissions, { allowMaximal: true });
  } catch {
    return null;
  }
}

function holdsAll(caller: PermissionCaller, doc: PermissionRecord): boolean {
  return storedSet(doc)?.isSubsetOf(caller.permissions) ?? false;
}

function sameSource(caller: PermissionCaller, doc: PermissionRecord): boolean {
  return caller.sourceId !== '' && caller.sourceId === doc.source_id;
}

/**
 * cozy's CheckSetPermissions: only app-like tokens create, never more than they hold, and never on a doctype
 * only the stack may write (files excepted: sharing files is what links are for).
 */
export function assertCanCreate(caller: PermissionCaller, set: PermissionSet): void {
  if (!isManager(caller)) throw ShareErrors.onlyApps();
  if (!set.isSubsetOf(caller.permissions)) throw PermissionErrors.notSubset();
  for (const rule of set.rules) {
    if (typeCovers(rule.type, FILES)) continue;
    if (!isValidDoctypeName(rule.type, false)) throw ShareErrors.reservedDoctype(`${rule.type} is not a valid doctype name`);
    if (!isWritableDoctype(rule.type)) throw ShareErrors.reservedDoctype(`reserved doctype ${rule.type} unwritable`);
  }
}

/** cozy's CanUpdateShareByLink: a share by link is changed or revoked by its source or by a holder of all it grants. */
export function canManage(caller: PermissionCaller, doc: PermissionRecord): boolean {
  return doc.type === 'share' && isManager(caller) && (sameSource(caller, doc) || holdsAll(caller, doc));
}

/** Adding rules needs no parent (an app may grant another app's document what it holds itself), but a manager. */
export function canAddRules(caller: PermissionCaller): boolean {
  return isManager(caller);
}

/** Reading a document: the token's own, one of its source, or one granting nothing the caller lacks. */
export function canView(caller: PermissionCaller, doc: PermissionRecord): boolean {
  return caller.docId === doc._id || sameSource(caller, doc) || holdsAll(caller, doc);
}
