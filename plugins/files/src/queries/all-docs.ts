import type { Doc, DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import { QueryErrors } from './query-errors.ts';

const FILES_DOCTYPE = 'io.cozy.files';
const TRASH_DIR_ID = 'io.cozy.files.trash-dir';
/** Keys one request may ask (a page of cozy-client's fetch by ids is far below). */
const MAX_KEYS = 10_000;

export function readKeys(body: unknown): string[] {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw QueryErrors.badRequest('The body must be {"keys": ["<file id>", ...]}');
  if (keys.length > MAX_KEYS) throw QueryErrors.badRequest(`At most ${MAX_KEYS} keys`);
  return keys as string[];
}

/**
 * POST /files/_all_docs: the entries with these ids, as cozy-stack's GetAllDocs: ids that do not exist (or were
 * deleted) and the trash directory are left out, design documents too.
 */
export async function filesByIds(store: DocumentStore, inst: InstanceRef, keys: string[]): Promise<Doc[]> {
  const wanted = keys.filter((k) => !k.startsWith('_') && k !== TRASH_DIR_ID);
  if (wanted.length === 0) return [];
  const res = await store.allDocs(inst, FILES_DOCTYPE, { keys: wanted, include_docs: true });
  return res.rows.flatMap((row) => (row.doc && !row.doc._deleted && typeof row.doc.type === 'string' ? [row.doc] : []));
}
