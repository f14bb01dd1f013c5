import {
  BoundedMap, FILES_DOCTYPE, FILES_VERSIONS_DOCTYPE, FilesErrors, type Doc, type DocEvent, type DocumentStore, type FileDoc, type FileVersionDoc,
  type InstanceRef, type NewDoc, type ViewQueryOptions, type ViewRow,
} from '@cozy-ts/kernel';
import { MAX_LISTED_CHILDREN, type ChildNames } from './child-names.ts';

const PARENT_VIEW = 'by-parent-type-name';
const USAGE_VIEW = 'disk-usage';
const VERSIONS_USAGE_VIEW = 'old-versions-disk-usage';
const TRASH_USAGE_VIEW = 'cozy-ts-trash-usage';
const PATH_INDEX = 'dir-by-path';

/** cozy-stack's views (pkg/couchdb/index.go), under their names, so tools that know cozy's design docs find them. */
const DESIGN_DOCS: Record<string, { doctype: string; map: string; reduce: string }> = {
  [PARENT_VIEW]: { doctype: FILES_DOCTYPE, map: 'function(doc) {\n  emit([doc.dir_id, doc.type, doc.name])\n}', reduce: '_count' },
  [USAGE_VIEW]: { doctype: FILES_DOCTYPE, map: "function(doc) {\n  if (doc.type === 'file') {\n    emit(doc.dir_id, +doc.size);\n  }\n}", reduce: '_sum' },
  // Not cozy-stack's (it walks the trash): every file under the trash carries `trashed: true`.
  [TRASH_USAGE_VIEW]: { doctype: FILES_DOCTYPE, map: "function(doc) {\n  if (doc.type === 'file' && doc.trashed === true) {\n    emit(doc.dir_id, +doc.size);\n  }\n}", reduce: '_sum' },
  [VERSIONS_USAGE_VIEW]: { doctype: FILES_VERSIONS_DOCTYPE, map: 'function(doc) {\n  emit(doc._id, +doc.size);\n}', reduce: '_sum' },
};

/** A sentinel that sorts after every string in CouchDB's (and PouchDB's) collation. */
const HIGH = {};

function status(err: unknown): number | undefined {
  return (err as { status?: number }).status;
}

export interface ChildPage {
  docs: FileDoc[];
  /** Key and id of the first child of the next page. */
  next?: { key: unknown; docId: string };
}

/**
 * The io.cozy.files documents of an instance as the VFS service reads and writes them: by id, by parent and name
 * (cozy's by-parent-type-name view, whose key order is the listing order: directories first, then by name), by
 * directory path (cozy's dir-by-path index), and the sums behind the quota. Design documents are written on
 * first need, so instances created before the plugin was enabled work too.
 */
/** How long a child count may serve without a change seen here: bounds staleness from other processes of a farm. */
const COUNT_TTL_MS = 10_000;
const COUNT_CACHE_MAX = 10_000;

export class FilesIndex {
  /** Child counts by `<domain>\n<dir id>`: a reduce over a big directory reads every row on PouchDB. */
  readonly #counts = new Map<string, { n: number; until: number }>();
  /** Directory listings (see {@link ChildNames}), while doc events are followed; undefined otherwise. */
  #names: ChildNames | undefined;
  /** `<domain>\n<id>\n<rev>` of the io.cozy.files doc events seen, until the write that made each one returns. */
  readonly #seen = new BoundedMap<string, true>(1000);

  constructor(
    private readonly store: DocumentStore,
    /**
     * Whether this process holds the instance's tree lock: then no other process is changing the tree, so the tree
     * generation need not be read and a listing read from the view may be kept (a write of this process landing
     * during the read reaches the listing through its doc event, or the event makes it discarded).
     */
    private readonly locked: (inst: InstanceRef) => boolean = () => false,
  ) {}

  /** Starts (or, with undefined, stops) answering name lookups from directory listings. */
  useNames(names: ChildNames | undefined): void {
    this.#names = names;
    this.#seen.clear();
  }

  /** Sums behind the quota by domain, kept current by the doc events of this process between two reads. */
  readonly #usage = new Map<string, { files: number; versions: number; trash: number; until: number }>();

  /**
   * Keeps the caches honest after a write (every io.cozy.files and io.cozy.files.versions doc event of this
   * process): child counts of the directories involved are dropped, the usage sums move by the size difference
   * (or are dropped when the event lacks the old document).
   */
  changed(e: DocEvent): void {
    const { domain, doc, old } = e;
    if (e.doctype === FILES_DOCTYPE) {
      for (const d of [doc.dir_id, old?.dir_id]) if (typeof d === 'string') this.#counts.delete(`${domain}\n${d}`);
      if (this.#names) {
        this.#names.changed(e);
        this.#seen.set(`${domain}\n${doc._id}\n${doc._rev}`, true);
      }
    }
    const usage = this.#usage.get(domain);
    if (!usage) return;
    if (e.verb !== 'CREATED' && !old) {
      this.#usage.delete(domain);
      return;
    }
    const bytes = (d: Doc | undefined, pick: 'files' | 'versions' | 'trash'): number => {
      if (!d || d._deleted) return 0;
      if (pick === 'versions') return Number(d.size) || 0;
      if (d.type !== 'file') return 0;
      return pick === 'trash' && d.trashed !== true ? 0 : Number(d.size) || 0;
    };
    if (e.doctype === FILES_VERSIONS_DOCTYPE) usage.versions += bytes(doc, 'versions') - bytes(old, 'versions');
    else if (e.doctype === FILES_DOCTYPE) {
      usage.files += bytes(doc, 'files') - bytes(old, 'files');
      usage.trash += bytes(doc, 'trash') - bytes(old, 'trash');
    }
  }

  async get(inst: InstanceRef, id: string): Promise<FileDoc> {
    const doc = await this.tryGet(inst, id);
    if (!doc) throw FilesErrors.notFound();
    return doc;
  }

  async tryGet(inst: InstanceRef, id: string): Promise<FileDoc | null> {
    if (typeof id !== 'string' || id === '' || id.startsWith('_design/')) return null;
    try {
      const doc = await this.store.get(inst, FILES_DOCTYPE, id);
      return doc.type === 'file' || doc.type === 'directory' ? (doc as unknown as FileDoc) : null;
    } catch (err) {
      if (status(err) === 404) return null;
      throw err;
    }
  }

  /**
   * The child of `dirId` named exactly `name` (byte for byte), directory or file: from the directory's listing when
   * this process holds a valid one (a found id is still read and checked), else from the by-parent view; under the
   * tree lock, a directory without a listing is listed, so the next lookups in it need no query.
   */
  async child(inst: InstanceRef, dirId: string, name: string): Promise<FileDoc | null> {
    const names = this.#names;
    if (!names) return this.#childFromView(inst, dirId, name);
    const locked = this.locked(inst);
    const cached = await names.lookup(inst, dirId, name, locked);
    if (cached === null) return null;
    if (cached) {
      const doc = await this.tryGet(inst, cached.id);
      if (doc && doc.dir_id === dirId && doc.name === name) return doc;
      names.drop(inst, dirId);
    } else if (locked && !names.tooBig(inst, dirId)) {
      const snap = names.snapshot(inst);
      const rows = await this.#view(inst, PARENT_VIEW, {
        startkey: [dirId], endkey: [dirId, HIGH], limit: MAX_LISTED_CHILDREN + 1, reduce: false,
      });
      const listed = rows.flatMap((r): Array<[string, string]> => {
        const key = r.key as unknown[];
        return Array.isArray(key) && key[0] === dirId && typeof key[2] === 'string' && r.id ? [[key[2], r.id]] : [];
      });
      names.keep(snap, dirId, rows.length > MAX_LISTED_CHILDREN ? null : listed);
      if (rows.length <= MAX_LISTED_CHILDREN) {
        const id = listed.find(([n]) => n === name)?.[1];
        if (id === undefined) return null;
        const doc = await this.tryGet(inst, id);
        if (doc && doc.dir_id === dirId && doc.name === name) return doc;
      }
    }
    return this.#childFromView(inst, dirId, name);
  }

  async #childFromView(inst: InstanceRef, dirId: string, name: string): Promise<FileDoc | null> {
    const rows = await this.#view(inst, PARENT_VIEW, {
      keys: [[dirId, 'directory', name], [dirId, 'file', name]], include_docs: true, reduce: false,
    });
    for (const row of rows) if (row.doc && row.doc.name === name && row.doc.dir_id === dirId) return row.doc as unknown as FileDoc;
    return null;
  }

  /** A page of children in listing order, starting at `from` (a previous page's `next`). */
  async children(inst: InstanceRef, dirId: string, limit: number, from?: { key: unknown; docId: string }): Promise<ChildPage> {
    const startkey = from && Array.isArray(from.key) && from.key[0] === dirId ? from.key : [dirId];
    // Keys are unique under the tree lock; the extra rows absorb equal keys that an import may have made.
    const rows = await this.#view(inst, PARENT_VIEW, { startkey, endkey: [dirId, HIGH], limit: limit + 1 + (from ? 8 : 0), include_docs: true, reduce: false });
    const fromKey = from ? JSON.stringify(from.key) : undefined;
    const usable = rows.filter((r) => r.doc && r.id && !(fromKey !== undefined && JSON.stringify(r.key) === fromKey && r.id < (from as { docId: string }).docId));
    const page = usable.slice(0, limit);
    const after = usable[limit];
    return {
      docs: page.map((r) => r.doc as unknown as FileDoc),
      next: after ? { key: after.key, docId: after.id as string } : undefined,
    };
  }

  async countChildren(inst: InstanceRef, dirId: string): Promise<number> {
    const key = `${inst.domain}\n${dirId}`;
    const hit = this.#counts.get(key);
    if (hit && hit.until > Date.now()) return hit.n;
    const rows = await this.#view(inst, PARENT_VIEW, { startkey: [dirId], endkey: [dirId, HIGH], reduce: true });
    const n = Number(rows[0]?.value ?? 0);
    if (this.#counts.size >= COUNT_CACHE_MAX) this.#counts.delete(this.#counts.keys().next().value as string);
    this.#counts.set(key, { n, until: Date.now() + COUNT_TTL_MS });
    return n;
  }

  /** Every child directory of `dirId`. */
  async childDirs(inst: InstanceRef, dirId: string): Promise<FileDoc[]> {
    const rows = await this.#view(inst, PARENT_VIEW, {
      startkey: [dirId, 'directory'], endkey: [dirId, 'directory', HIGH], include_docs: true, reduce: false,
    });
    return rows.flatMap((r) => (r.doc ? [r.doc as unknown as FileDoc] : []));
  }

  /** The directory whose stored `path` is exactly `path`. */
  async dirByPath(inst: InstanceRef, path: string): Promise<FileDoc | null> {
    const run = () => this.store.find(inst, FILES_DOCTYPE, { selector: { path }, use_index: PATH_INDEX, limit: 4 });
    let res;
    try {
      res = await run();
    } catch (err) {
      if (status(err) !== 404 && status(err) !== 400) throw err;
      await this.#ensurePathIndex(inst);
      res = await run();
    }
    const found = res.docs.find((d) => d.type === 'directory' && d.path === path);
    return (found as unknown as FileDoc | undefined) ?? null;
  }

  /** Bytes of every file (trash included) and of every old version. */
  /**
   * Bytes of every file (trash included), of the trash alone, and of every old version. A reduce reads every row on
   * PouchDB, so the sums are kept for a few seconds and moved by this process's own writes meanwhile; another
   * process's writes show within that delay (the quota is checked again at commit with the same figures).
   */
  async usage(inst: InstanceRef): Promise<{ files: number; versions: number; trash: number }> {
    const hit = this.#usage.get(inst.domain);
    if (hit && hit.until > Date.now()) return { files: hit.files, versions: hit.versions, trash: hit.trash };
    const [files, versions, trash] = await Promise.all([
      this.#view(inst, USAGE_VIEW, { reduce: true }),
      this.#view(inst, VERSIONS_USAGE_VIEW, { reduce: true }),
      this.#view(inst, TRASH_USAGE_VIEW, { reduce: true }),
    ]);
    const sums = { files: Number(files[0]?.value ?? 0), versions: Number(versions[0]?.value ?? 0), trash: Number(trash[0]?.value ?? 0) };
    if (this.#usage.size >= COUNT_CACHE_MAX) this.#usage.delete(this.#usage.keys().next().value as string);
    this.#usage.set(inst.domain, { ...sums, until: Date.now() + COUNT_TTL_MS });
    return sums;
  }

  async versionsOf(inst: InstanceRef, fileId: string): Promise<FileVersionDoc[]> {
    // cozy-stack's VersionsFor: ids are `<file id>/<internal id>`, and '0' follows '/' in ASCII.
    try {
      const res = await this.store.allDocs(inst, FILES_VERSIONS_DOCTYPE, { startkey: `${fileId}/`, endkey: `${fileId}0`, inclusive_end: false, include_docs: true });
      return res.rows.flatMap((r) => (r.doc && !r.doc._deleted ? [r.doc as unknown as FileVersionDoc] : []));
    } catch (err) {
      if (status(err) === 404) return [];
      throw err;
    }
  }

  async version(inst: InstanceRef, versionId: string): Promise<FileVersionDoc> {
    try {
      return (await this.store.get(inst, FILES_VERSIONS_DOCTYPE, versionId)) as unknown as FileVersionDoc;
    } catch (err) {
      if (status(err) === 404) throw FilesErrors.versionNotFound();
      throw err;
    }
  }

  /** Every version of every file, page by page. */
  async *allVersions(inst: InstanceRef): AsyncIterable<FileVersionDoc> {
    let startkey: string | undefined;
    for (;;) {
      let res;
      try {
        res = await this.store.allDocs(inst, FILES_VERSIONS_DOCTYPE, { startkey, limit: 201, include_docs: true });
      } catch (err) {
        if (status(err) === 404) return;
        throw err;
      }
      for (const r of res.rows.slice(0, 200)) if (r.doc && !r.key.startsWith('_design/')) yield r.doc as unknown as FileVersionDoc;
      if (res.rows.length <= 200) return;
      startkey = res.rows[200]!.key;
    }
  }

  /** Writes a document; `old` (the document it replaces) fills the doc event and saves a read. */
  async put(inst: InstanceRef, doc: NewDoc, old: Doc | null): Promise<string> {
    const res = await this.store.put(inst, FILES_DOCTYPE, doc, { old });
    this.#followed(inst, res.id, res.rev);
    return res.rev;
  }

  /**
   * The listings follow the writes through the doc events, which the bus delivers before the writer's `await`
   * returns; should that ever not hold, the listings are switched off rather than left behind a write.
   */
  #followed(inst: InstanceRef, id: string, rev: string): void {
    if (this.#names && !this.#seen.delete(`${inst.domain}\n${id}\n${rev}`)) this.useNames(undefined);
  }

  async putVersion(inst: InstanceRef, doc: NewDoc): Promise<string> {
    return (await this.store.put(inst, FILES_VERSIONS_DOCTYPE, doc, { old: null })).rev;
  }

  async updateVersion(inst: InstanceRef, doc: FileVersionDoc, old: FileVersionDoc): Promise<string> {
    return (await this.store.put(inst, FILES_VERSIONS_DOCTYPE, doc, { old: old as unknown as Doc })).rev;
  }

  async deleteVersion(inst: InstanceRef, doc: FileVersionDoc): Promise<void> {
    try {
      await this.store.delete(inst, FILES_VERSIONS_DOCTYPE, doc._id, doc._rev, { old: doc as unknown as Doc });
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
  }

  async remove(inst: InstanceRef, doc: FileDoc): Promise<void> {
    const res = await this.store.delete(inst, FILES_DOCTYPE, doc._id, doc._rev, { old: doc });
    this.#followed(inst, res.id, res.rev);
  }

  /** Writes many documents; throws the first failure after the others were written. */
  async bulk(inst: InstanceRef, docs: NewDoc[]): Promise<void> {
    for (let i = 0; i < docs.length; i += 200) {
      const results = await this.store.bulkDocs(inst, FILES_DOCTYPE, docs.slice(i, i + 200));
      for (const r of results) if (!r.error && r.rev) this.#followed(inst, r.id, r.rev);
      const failed = results.find((r) => r.error);
      if (failed) throw failed.error === 'conflict' ? FilesErrors.conflict() : FilesErrors.conflict(`${failed.error}: ${failed.reason ?? ''}`);
    }
  }

  /** Lays down the design documents and the path index (instance creation). */
  async ensureDesign(inst: InstanceRef): Promise<void> {
    for (const name of Object.keys(DESIGN_DOCS)) await this.#ensureDesignDoc(inst, name);
    await this.#ensurePathIndex(inst);
  }

  async #view(inst: InstanceRef, name: string, opts: ViewQueryOptions): Promise<ViewRow[]> {
    const def = DESIGN_DOCS[name]!;
    const run = async () => (await this.store.queryView(inst, def.doctype, name, name, opts)).rows;
    try {
      return await run();
    } catch (err) {
      if (status(err) !== 404) throw err;
      await this.#ensureDesignDoc(inst, name);
      return run();
    }
  }

  /** Through the adapter: a view definition is not a file change, and must not emit an io.cozy.files event. */
  async #ensureDesignDoc(inst: InstanceRef, name: string): Promise<void> {
    const def = DESIGN_DOCS[name]!;
    const db = this.store.db(inst, def.doctype);
    const id = `_design/${name}`;
    const views = { [name]: { map: def.map, reduce: def.reduce } };
    let current: Doc | undefined;
    try {
      current = await this.store.adapter.get(db, id);
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    if (current && JSON.stringify(current.views) === JSON.stringify(views)) return;
    try {
      await this.store.adapter.put(db, { _id: id, ...(current?._rev ? { _rev: current._rev } : {}), language: 'javascript', views });
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
  }

  async #ensurePathIndex(inst: InstanceRef): Promise<void> {
    await this.store.createIndex(inst, FILES_DOCTYPE, { index: { fields: ['path'] }, ddoc: PATH_INDEX, name: PATH_INDEX });
  }
}
