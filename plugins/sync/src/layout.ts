/** Where calendars, address books and their members live in the store (cozy's doctypes, so /data sees them). */
export const DOCTYPES = {
  calendars: 'io.cozy.calendar.calendars',
  events: 'io.cozy.calendar.events',
  todos: 'io.cozy.calendar.todos',
  addressbooks: 'io.cozy.contacts.addressbooks',
  contacts: 'io.cozy.contacts',
  /** Group vCards (KIND:group, Apple's X-ADDRESSBOOKSERVER-KIND:group): groups for Cozy's apps, not contacts. */
  groups: 'io.cozy.contacts.groups',
} as const;

export type HomeKind = 'calendars' | 'contacts';

/** The doctypes holding the members of a home's collections. */
export function memberDoctypes(kind: HomeKind): string[] {
  return kind === 'calendars' ? [DOCTYPES.events, DOCTYPES.todos] : [DOCTYPES.contacts, DOCTYPES.groups];
}

/**
 * The doctypes a caller needs on a home. Groups are not among them: a token for contacts and address books
 * (made before group cards were groups) still syncs, and only sees no group cards.
 */
export function requiredDoctypes(kind: HomeKind): string[] {
  return kind === 'calendars' ? [DOCTYPES.calendars, DOCTYPES.events, DOCTYPES.todos] : [DOCTYPES.addressbooks, DOCTYPES.contacts];
}

export function collectionDoctype(kind: HomeKind): string {
  return kind === 'calendars' ? DOCTYPES.calendars : DOCTYPES.addressbooks;
}

/**
 * Contacts made in Cozy (no DAV client ever sent a card for them) are members of this address book, as
 * `<id>.vcf`, so the Contacts app's contacts reach phones without any setup.
 */
export const DEFAULT_ADDRESSBOOK = 'default';

/**
 * A member's document id is its collection and name: a PUT or GET finds its document with one read, two
 * collections may hold the same name, and a collection's members are one id range of the database (listed from
 * the primary index, revisions included, without reading a document or keeping a view).
 */
export function memberId(collection: string, name: string): string {
  return `${collection}/${name}`;
}

/** The id range holding a collection's members. */
export function memberRange(collection: string): { startkey: string; endkey: string } {
  return { startkey: `${collection}/`, endkey: `${collection}/\ufff0` };
}

/** The id a Cozy-made contact's `<id>.vcf` name stands for, if the name has that shape. */
export function cozyContactId(collection: string, name: string): string | undefined {
  if (collection !== DEFAULT_ADDRESSBOOK || !name.endsWith('.vcf')) return undefined;
  const id = name.slice(0, -4);
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) ? id : undefined;
}

/** A collection's name in URLs is its document id: a safe, short segment. */
export function isValidCollectionName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/.test(name);
}

/** Member names clients choose (`<uid>.ics`, a UUID, ...): any text without a slash, within reason. */
export function isValidMemberName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !name.includes('/') && name !== '.' && name !== '..' && !/[\u0000-\u001F]/.test(name);
}

export const DESIGN_ID = '_design/cozy-sync';
/** Bumped whenever the views change, so every database gets the new ones on next use. */
export const DESIGN_VERSION = 4;

/**
 * The view over member documents: `uids` finds a UID in a collection without a scan. In the contacts database, a contact without DAV data (made in Cozy) belongs to the default
 * address book, unless the Contacts app put it in the trash.
 */
export function designDoc(withCozyContacts: boolean): { _id: string; language: string; version: number; views: Record<string, { map: string }> } {
  const cozy = withCozyContacts
    ? `else if (!doc.dav && doc._id.charAt(0) !== '_' && !doc.trashed) {
    emit(['${DEFAULT_ADDRESSBOOK}', KEY], VALUE);
  }`
    : '';
  return {
    _id: DESIGN_ID,
    language: 'javascript',
    version: DESIGN_VERSION,
    views: {
      uids: {
        map: `function (doc) {
  if (doc.dav && typeof doc.dav.collection === 'string') {
    emit([doc.dav.collection, doc.dav.uid], doc.dav.href);
  } ${cozy.replace('KEY', 'doc._id').replace('VALUE', "doc._id + '.vcf'")}
}`,
      },
    },
  };
}
