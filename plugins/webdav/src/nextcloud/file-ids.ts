import { createHash } from 'node:crypto';
import { BoundedMap, FILES_DOCTYPE, ROOT_DIR_ID, TRASH_DIR_ID, type DocumentStore, type InstanceRef } from '@cozy-ts/kernel';
import { DavErrors } from '@cozy-ts/dav';

/**
 * Nextcloud's numeric file ids over our document ids.
 *
 * Nextcloud clients take `oc:fileid` for a number: the Android library parses it with Kotlin's `toLong()` (a
 * NumberFormatException fails the whole PROPFIND, so a folder would not even list), then builds
 * `/remote.php/dav/versions/<user>/versions/<fileid>` from it; the desktop client derives a file's numeric id from
 * the leading digits of `oc:id`. Our ids are 32 hex characters, or names such as `io.cozy.files.root-dir`. So the
 * Nextcloud view shows a number computed from the id alone: the same in every process and after a restart, with
 * nothing stored to keep in step.
 *
 * The numbers, all JavaScript safe integers (below 2^53) and never 0:
 * - 1..5: cozy-stack's well-known directories (root, trash, shared with me, no longer shared, shared drives);
 * - 2^52 + p, p the first 13 hex digits (52 bits) of an id that starts with 13 lowercase hex digits (every id
 *   this server makes): from 2^52 to 2^53 - 1, apart from the rest. Mapped back by a range read of the files
 *   database's ids starting with those 13 digits.
 * - any other id (imported under another shape): 52 bits of its SHA-256, in [1024, 2^52). Mapped back by going
 *   through every id of the files database: slow, but only for such ids.
 *
 * Collisions: two random ids share their first 52 bits with probability about n^2 / 2^53 for n files of one
 * instance: 1 in 900,000 at 100,000 files, 1 in 9,000 at a million. When it happens both files show the same
 * `oc:fileid` (and `oc:id`); they still differ by path and ETag, which is what sync clients key on, and a request
 * naming that number (the versions of a file) is refused with 409 rather than served for the wrong file. Anywhere
 * the old form (the document id itself) was accepted, it still is, and it never collides.
 */

const WELL_KNOWN: ReadonlyArray<readonly [string, number]> = [
  [ROOT_DIR_ID, 1],
  [TRASH_DIR_ID, 2],
  ['io.cozy.files.shared-with-me-dir', 3],
  ['io.cozy.files.no-longer-shared-dir', 4],
  ['io.cozy.files.shared-drives-dir', 5],
];
const NUMBER_OF = new Map(WELL_KNOWN);
const ID_OF = new Map(WELL_KNOWN.map(([id, n]) => [n, id]));

const HEX_DIGITS = 13;
const HEX_PREFIX = /^[0-9a-f]{13}/;
const HEX_BASE = 2 ** 52;
/** Where numbers of ids of another shape start: below it, only the well-known ones (room left for more). */
const HASHED_MIN = 1024;
const HASHED_SPAN = HEX_BASE - HASHED_MIN;

/** The numeric file id of a document id. */
export function numericFileId(id: string): number {
  const known = NUMBER_OF.get(id);
  if (known !== undefined) return known;
  const hex = HEX_PREFIX.exec(id);
  if (hex) return HEX_BASE + Number.parseInt(hex[0], 16);
  // 52 bits of the digest: a safe integer, taken modulo the span left for these ids.
  const digest = createHash('sha256').update(id).digest();
  return HASHED_MIN + (digest.readUIntBE(0, 6) * 16 + ((digest[6] ?? 0) >> 4)) % HASHED_SPAN;
}

const instanceIds = new BoundedMap<string, string>(1024);

/**
 * Nextcloud's instance id (`oc` and 10 lowercase alphanumerics, random once per server): here derived from the
 * instance's database prefix, so it is the same in every process. Starting with letters, it ends the leading
 * digits the desktop client reads as the numeric id.
 */
export function nextcloudInstanceId(inst: InstanceRef): string {
  // Asked once per entry of every listing: computed once per instance (bounded, a farm serves many).
  let id = instanceIds.get(inst.prefix);
  if (id === undefined) {
    const digest = createHash('sha256').update(`nextcloud-instance-id\n${inst.prefix}`).digest('hex');
    id = `oc${BigInt(`0x${digest.slice(0, 16)}`).toString(36).padStart(10, '0').slice(-10)}`;
    instanceIds.set(inst.prefix, id);
  }
  return id;
}

/**
 * `oc:id` and the `OC-FileId` header, Nextcloud's `DavUtil::getDavFileId`: the numeric id padded to 8 digits,
 * then the instance id. The desktop client keys its sync journal on this string.
 */
export function davFileId(id: string, inst: InstanceRef): string {
  return `${String(numericFileId(id)).padStart(8, '0')}${nextcloudInstanceId(inst)}`;
}

/** What a client sent as a file id: a number (with `oc:id`'s instance suffix or not), or a document id. */
export type ClientFileId = { number: number } | { docId: string };

/**
 * Reads a file id from a client: digits (Nextcloud's numeric id, possibly zero-padded), the same followed by this
 * instance's id (the `oc:id` form), or else a document id as before (the old form, e.g. our hex ids). Digits
 * that are no safe integer are taken as a document id.
 */
export function parseClientFileId(text: string, inst: InstanceRef): ClientFileId {
  const suffix = nextcloudInstanceId(inst);
  const digits = text.endsWith(suffix) ? text.slice(0, -suffix.length) : text;
  if (/^\d{1,16}$/.test(digits)) {
    const n = Number(digits);
    if (Number.isSafeInteger(n) && n > 0) return { number: n };
  }
  return { docId: text };
}

const SCAN_PAGE = 2000;

/**
 * The document id behind a numeric file id, through the store's `_all_docs` of the files database (the
 * DocumentStore contract): null when no document has it, 409 when more than one does.
 */
export async function docIdOfNumber(store: DocumentStore, inst: InstanceRef, n: number, scanPage = SCAN_PAGE): Promise<string | null> {
  if (!Number.isSafeInteger(n) || n <= 0) return null;
  if (n < HASHED_MIN) return ID_OF.get(n) ?? null;
  const matches = n >= HEX_BASE ? await byPrefix(store, inst, (n - HEX_BASE).toString(16).padStart(HEX_DIGITS, '0')) : await byScan(store, inst, n, scanPage);
  if (matches.length > 1) throw DavErrors.conflict(`File id ${n} stands for more than one file; use the path`);
  return matches[0] ?? null;
}

async function byPrefix(store: DocumentStore, inst: InstanceRef, prefix: string): Promise<string[]> {
  // `_all_docs` orders ids by their bytes, so the range holds exactly the ids with this prefix (filtered again all
  // the same); two rows are enough to tell one from many.
  const res = await store.allDocs(inst, FILES_DOCTYPE, { startkey: prefix, endkey: `${prefix}\ufff0`, limit: 2 });
  return res.rows.map((r) => r.id ?? r.key).filter((id) => id.startsWith(prefix));
}

async function byScan(store: DocumentStore, inst: InstanceRef, n: number, pageSize: number): Promise<string[]> {
  // Each page after the first starts at the previous last id (inclusive): at least 2 rows to move on.
  const page = Math.max(1, Math.floor(pageSize));
  const found: string[] = [];
  let startkey: string | undefined;
  for (;;) {
    const res = await store.allDocs(inst, FILES_DOCTYPE, { ...(startkey === undefined ? {} : { startkey }), limit: page + 1 });
    const rows = res.rows.map((r) => r.id ?? r.key).filter((id) => id !== startkey);
    for (const id of rows) {
      if (!id.startsWith('_') && !HEX_PREFIX.test(id) && numericFileId(id) === n) found.push(id);
    }
    if (found.length > 1 || res.rows.length <= page) return found;
    startkey = rows[rows.length - 1];
  }
}

/**
 * The document id a client's file id names, for the caller to look up (and answer 404 when there is none): a
 * number mapped back (409 when ambiguous), or, when no document has that number, the text as a document id (an
 * imported id made of digits); any other text is the id itself.
 */
export async function resolveClientFileId(store: DocumentStore, inst: InstanceRef, text: string): Promise<string> {
  const parsed = parseClientFileId(text, inst);
  if ('docId' in parsed) return parsed.docId;
  return (await docIdOfNumber(store, inst, parsed.number)) ?? text;
}
