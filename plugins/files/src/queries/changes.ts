import type { ChangeRow, Doc, DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import { DirPaths } from './dir-paths.ts';
import { QueryErrors } from './query-errors.ts';
import { atoi, param, type Query } from './query-params.ts';

const FILES_DOCTYPE = 'io.cozy.files';
const OAUTH_CLIENTS = 'io.cozy.oauth.clients';
const TRASH_PATH = '/.cozy_trash';
/** cozy-stack caps a /files/_changes page at 10,000 rows. */
const MAX_LIMIT = 10_000;

/** The parameters cozy-stack accepts (web/files allowedChangesParams): anything else is a 400. */
const ALLOWED = new Set(['since', 'limit', 'include_docs', 'fields', 'include_file_path', 'skip_deleted', 'skip_trashed']);

export interface FilesChangesQuery {
  since?: string;
  /** 0: no limit. */
  limit: number;
  includeDocs: boolean;
  fields?: string[];
  includePath: boolean;
  skipDeleted: boolean;
  skipTrashed: boolean;
}

export interface FilesChangeRow {
  id: string;
  seq: string;
  doc: Doc | Record<string, unknown> | null;
  changes: Array<{ rev: string }>;
  deleted?: boolean;
}

export interface FilesChangesAnswer {
  last_seq: string;
  pending: number;
  results: FilesChangeRow[];
}

/**
 * cozy-stack reads its own flags by presence (`?skip_deleted` alone is true); an explicit `false` is read as
 * false here, since a client writing it surely means it.
 */
function flag(query: Query, name: string): boolean {
  const value = param(query, name);
  return value !== undefined && value !== 'false' && value !== '0';
}

export function readFilesChangesQuery(query: Query): FilesChangesQuery {
  for (const key of Object.keys(query)) {
    if (!ALLOWED.has(key)) throw QueryErrors.badRequest(`Unsupported query parameter '${key}'`);
  }
  let limit = 0;
  const limitText = param(query, 'limit');
  if (limitText !== undefined && limitText !== '') {
    const n = atoi(limitText);
    if (n === undefined) throw QueryErrors.badRequest(`Invalid limit value '${limitText}': strconv.Atoi: parsing "${limitText}": invalid syntax`);
    if (n < 0) throw QueryErrors.badRequest(`Invalid limit value '${limitText}'`);
    limit = Math.min(n, MAX_LIMIT);
  }
  const includeDocs = param(query, 'include_docs') === 'true';
  const includePath = flag(query, 'include_file_path');
  const skipTrashed = flag(query, 'skip_trashed');
  if (!includeDocs && (includePath || skipTrashed)) {
    throw QueryErrors.badRequest('Invalid options: include_docs should be set to true');
  }
  const fieldsText = param(query, 'fields');
  const since = param(query, 'since');
  const q: FilesChangesQuery = {
    limit,
    includeDocs,
    includePath,
    skipDeleted: flag(query, 'skip_deleted'),
    skipTrashed,
  };
  if (since !== undefined && since !== '') q.since = since;
  if (fieldsText !== undefined && fieldsText !== '') q.fields = fieldsText.split(',');
  return q;
}

function isTrashed(doc: Doc): boolean {
  if (doc.type === 'file') return doc.trashed === true;
  if (doc.type === 'directory' && typeof doc.path === 'string') {
    return doc.path === TRASH_PATH || doc.path.startsWith(`${TRASH_PATH}/`);
  }
  return false;
}

/**
 * CouchDB's `fields` projection of a selector-filtered feed: only the listed top-level fields (no `_id` or `_rev`
 * unless listed). Dotted names pick nested members, as in Mango.
 */
export function project(doc: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const parts = field.split('.');
    let value: unknown = doc;
    for (const part of parts) {
      value = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[part] : undefined;
    }
    if (value === undefined) continue;
    let target = out;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      target = (typeof next === 'object' && next !== null ? next : (target[part] = {})) as Record<string, unknown>;
    }
    target[parts[parts.length - 1] as string] = value;
  }
  return out;
}

/** The directories an OAuth client was told not to synchronise (cozy-stack's ListNotSynchronizedOn). */
async function notSynchronizedDirs(store: DocumentStore, inst: InstanceRef, clientId: string): Promise<Doc[]> {
  const selector = { type: 'directory', not_synchronized_on: { $elemMatch: { type: OAUTH_CLIENTS, id: clientId } } };
  const docs: Doc[] = [];
  let bookmark: string | undefined;
  for (;;) {
    const page = await store.find(inst, FILES_DOCTYPE, { selector, limit: 1000, ...(bookmark ? { bookmark } : {}) });
    docs.push(...page.docs);
    if (!page.next || page.docs.length === 0) return docs;
    bookmark = page.bookmark;
  }
}

/**
 * GET /files/_changes as cozy-stack: the CouchDB changes feed of io.cozy.files without design documents, with
 * `fields`, `include_file_path`, `skip_deleted`, `skip_trashed`; for an OAuth client, entries under a directory it
 * does not synchronise are sent as deletions (so a desktop client removes its local copy).
 */
export class FilesChanges {
  constructor(private readonly store: DocumentStore) {}

  async changes(inst: InstanceRef, q: FilesChangesQuery, oauthClientId?: string): Promise<FilesChangesAnswer> {
    const res = await this.#feed(inst, q);
    const paths = new DirPaths(this.store, inst);
    const hidden = oauthClientId !== undefined && res.results.length > 0 ? await this.#hiddenFor(inst, oauthClientId) : null;
    const results: FilesChangeRow[] = [];
    for (const row of res.results) {
      const out = await this.#row(row, q, paths, hidden);
      if (out) results.push(out);
    }
    return { last_seq: res.last_seq, pending: res.pending, results };
  }

  /**
   * The feed without design documents. CouchDB drops them before applying the limit (cozy-stack asks it with a
   * selector), so pages are read on until `limit` other rows are in or the feed ends.
   */
  async #feed(inst: InstanceRef, q: FilesChangesQuery): Promise<{ results: ChangeRow[]; last_seq: string; pending: number }> {
    // The hidden-directory check and skip_trashed need the documents even when the caller did not ask for them.
    let since = q.since;
    const results: ChangeRow[] = [];
    for (;;) {
      const want = q.limit > 0 ? q.limit - results.length : 0;
      const opts = { include_docs: true, ...(since !== undefined ? { since } : {}), ...(want > 0 ? { limit: want } : {}) };
      let res;
      try {
        res = await this.store.changes(inst, FILES_DOCTYPE, opts);
      } catch (err) {
        if ((err as { status?: number }).status === 400) throw QueryErrors.badRequest(`Invalid since value '${q.since ?? ''}'`);
        throw err;
      }
      const kept = res.results.filter((row) => !row.id.startsWith('_design/'));
      results.push(...kept);
      if (q.limit === 0 || kept.length === res.results.length || res.results.length === 0 || res.pending === 0 || results.length >= q.limit) {
        return { results, last_seq: res.last_seq, pending: res.pending };
      }
      since = res.last_seq;
    }
  }

  async #hiddenFor(inst: InstanceRef, clientId: string): Promise<{ ids: Set<string>; paths: string[] } | null> {
    const dirs = await notSynchronizedDirs(this.store, inst, clientId);
    if (dirs.length === 0) return null;
    return {
      ids: new Set(dirs.map((d) => d._id)),
      paths: dirs.flatMap((d) => (typeof d.path === 'string' ? [d.path] : [])),
    };
  }

  async #row(row: ChangeRow, q: FilesChangesQuery, paths: DirPaths, hidden: { ids: Set<string>; paths: string[] } | null): Promise<FilesChangeRow | null> {
    const rev = row.changes[0]?.rev ?? '';
    let deleted = row.deleted === true;
    let doc: Doc | undefined = row.doc;
    let path: string | null = null;
    if (doc && !deleted && (q.includePath || hidden) && doc.type === 'file') path = await paths.pathOf(doc);
    if (doc && !deleted && hidden) {
      const where = doc.type === 'directory' ? (typeof doc.path === 'string' ? doc.path : null) : path;
      if (hidden.ids.has(row.id) || (where !== null && hidden.paths.some((p) => where === p || where.startsWith(`${p}/`)))) {
        deleted = true;
        doc = { _id: row.id, _rev: rev, _deleted: true };
      }
    }
    if (q.skipDeleted && deleted) return null;
    if (q.skipTrashed && doc && !deleted && isTrashed(doc)) return null;
    const out: FilesChangeRow = { id: row.id, seq: row.seq, doc: null, changes: row.changes };
    if (deleted) out.deleted = true;
    if (q.includeDocs && doc) {
      let shown: Record<string, unknown> = q.includePath && path !== null && !deleted ? { ...doc, path } : doc;
      if (q.fields) shown = project(shown, q.includePath && path !== null ? [...q.fields, 'path'] : q.fields);
      out.doc = shown;
    }
    return out;
  }
}
