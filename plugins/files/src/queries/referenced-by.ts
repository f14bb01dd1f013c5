import { StoreErrors, isCozyError, type DocReference, type DocumentStore, type FileDoc, type FilesActor, type InstanceRef } from '@cozy-ts/kernel';
import { touchCozyMetadata } from '../vfs/cozy-metadata.ts';
import { QueryErrors } from './query-errors.ts';

const FILES_DOCTYPE = 'io.cozy.files';
/** References one request may add or remove. */
const MAX_REFS = 1000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON:API relationship body, one identifier or a list (cozy-stack's BindRelations): `{"data": [{"type", "id"}]}`.
 * Each needs a non-empty type and id.
 */
export function readReferences(body: unknown): DocReference[] {
  const data = isObject(body) ? body.data : undefined;
  const list = Array.isArray(data) ? data : isObject(data) ? [data] : undefined;
  if (!list) throw QueryErrors.badRequest('The body must be a JSON:API list of resource identifiers: {"data": [{"type": "...", "id": "..."}]}');
  if (list.length > MAX_REFS) throw QueryErrors.badRequest(`At most ${MAX_REFS} references at once`);
  return list.map((ref) => {
    if (!isObject(ref) || typeof ref.type !== 'string' || ref.type === '' || typeof ref.id !== 'string' || ref.id === '') {
      throw QueryErrors.badRequest('Each reference needs a type and an id', { source: { pointer: '/data' } });
    }
    return { type: ref.type, id: ref.id };
  });
}

function same(a: DocReference, b: DocReference): boolean {
  return a.type === b.type && a.id === b.id;
}

export type ReferenceChange = 'add' | 'remove';
/** The two relationship lists an entry carries: documents referencing it, and clients not synchronising a folder. */
export type ReferenceField = 'referenced_by' | 'not_synchronized_on';

/**
 * Adds or removes references on an entry, under the instance's tree lock as cozy-stack does (so a concurrent move
 * cannot write an older version of the document over this one), with `cozyMetadata.updatedAt` moved. The write
 * goes through the store, so it emits its doc event. Returns the written document.
 */
export async function changeReferences(
  store: DocumentStore,
  inst: InstanceRef,
  current: FileDoc,
  refs: DocReference[],
  change: ReferenceChange,
  actor?: FilesActor,
  field: ReferenceField = 'referenced_by',
): Promise<FileDoc> {
  const existing = (current as { [k in ReferenceField]?: unknown })[field];
  const before = Array.isArray(existing) ? (existing as DocReference[]) : [];
  let after: DocReference[];
  if (change === 'add') {
    after = [...before];
    for (const ref of refs) if (!after.some((r) => same(r, ref))) after.push(ref);
  } else {
    after = before.filter((r) => !refs.some((ref) => same(r, ref)));
  }
  const now = new Date().toISOString();
  const next: FileDoc = { ...current, [field]: after, cozyMetadata: touchCozyMetadata(inst, current.cozyMetadata, now, actor) };
  try {
    const res = await store.put(inst, FILES_DOCTYPE, next, { old: current });
    return { ...next, _rev: res.rev };
  } catch (err) {
    if (isCozyError(err) && err.code === StoreErrors.conflict().code) throw QueryErrors.conflict();
    throw err;
  }
}
