import { DOCTYPES } from './layout.ts';
import { parseLine, unfold } from './vcard.ts';

/**
 * Group cards and Cozy's groups of contacts. A group card names its members by UID (RFC 6350 §6.6.5 `MEMBER`,
 * Apple's `X-ADDRESSBOOKSERVER-MEMBER`, both as `urn:uuid:<UID>`); Cozy puts a contact in a group with a
 * reference in the contact's `relationships.groups.data` (cozy-stack's model/contact). A group card's groups
 * document has the id `<book>/<name>`, so the references to the DAV groups of a book are those starting with
 * `<book>/`: the others (groups made in Cozy) are never touched here.
 */
export interface GroupRef {
  _id: string;
  _type: string;
}

const URN = /^urn:uuid:/i;

/** The members a group card names, as written (`urn:uuid:` kept), in order, without repeats. */
export function groupMembers(raw: string): string[] {
  const out = new Set<string>();
  for (const line of unfold(raw)) {
    const l = parseLine(line);
    const name = l.name.toUpperCase();
    if ((name === 'MEMBER' || name === 'X-ADDRESSBOOKSERVER-MEMBER') && l.value.trim()) out.add(l.value.trim());
  }
  return [...out];
}

/** Whether a group's member list names a contact of this UID (with or without `urn:uuid:`, on either side). */
export function namesMember(members: string[], uid: string): boolean {
  const bare = uid.replace(URN, '').toLowerCase();
  return members.some((m) => m.replace(URN, '').toLowerCase() === bare);
}

/** The UIDs a member entry may stand for in the uids index: as written, and without `urn:uuid:`. */
export function memberUidKeys(member: string): string[] {
  const bare = member.replace(URN, '');
  return bare === member ? [member] : [member, bare];
}

/**
 * The contact's `relationships` with its references to the DAV groups of `book` set to `groupIds`, the rest as
 * it was; undefined when that changes nothing (no write, no new revision).
 */
export function withBookGroups(doc: object, book: string, groupIds: string[]): Record<string, unknown> | undefined {
  const current = (doc as { relationships?: unknown }).relationships;
  const rel = (current && typeof current === 'object' ? current : {}) as Record<string, unknown>;
  const groups = (rel.groups && typeof rel.groups === 'object' ? rel.groups : {}) as Record<string, unknown>;
  const data = Array.isArray(groups.data) ? (groups.data as GroupRef[]) : [];
  const prefix = `${book}/`;
  const isBookGroup = (r: GroupRef) => r && r._type === DOCTYPES.groups && typeof r._id === 'string' && r._id.startsWith(prefix);
  const before = data.filter(isBookGroup).map((r) => r._id).sort();
  const after = [...new Set(groupIds)].sort();
  if (before.length === after.length && before.every((id, i) => id === after[i])) return undefined;
  const kept = data.filter((r) => !isBookGroup(r));
  return { ...rel, groups: { ...groups, data: [...kept, ...after.map((_id) => ({ _id, _type: DOCTYPES.groups }))] } };
}
