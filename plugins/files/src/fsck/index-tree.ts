import type { Doc, DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import { lightDoc, type FsckEntry, type FsckLog } from './fsck-log.ts';

export const FILES_DOCTYPE = 'io.cozy.files';
export const VERSIONS_DOCTYPE = 'io.cozy.files.versions';
export const ROOT_DIR_ID = 'io.cozy.files.root-dir';
export const TRASH_DIR_ID = 'io.cozy.files.trash-dir';
const TRASH_PATH = '/.cozy_trash';
const PAGE = 1000;

/** One io.cozy.files document placed in the tree. */
export interface TreeNode {
  doc: Record<string, unknown> & { _id: string; type?: unknown; name?: unknown; dir_id?: unknown; path?: unknown };
  isDir: boolean;
  /** Directories: the stored path; files: parent path + name. Empty for orphans and cycles. */
  fullpath: string;
  isOrphan: boolean;
  hasCycle: boolean;
}

/** The io.cozy.files index as a tree, cozy-stack's BuildTree. */
export interface IndexTree {
  root?: TreeNode;
  byId: Map<string, TreeNode>;
  /** Children by parent id. */
  children: Map<string, TreeNode[]>;
}

export function toEntry(node: TreeNode): FsckEntry {
  const entry: FsckEntry = {
    ...(node.doc as Record<string, unknown>),
    type: node.isDir ? 'directory' : 'file',
    is_dir: node.isDir,
    is_orphan: node.isOrphan,
    has_cycle: node.hasCycle,
  };
  if (node.fullpath) entry.path = node.fullpath;
  return entry;
}

function docLog(type: FsckLog['type'], node: TreeNode, extra: Partial<FsckLog> = {}): FsckLog {
  return node.isDir
    ? { type, dir_doc: toEntry(node), is_file: false, is_version: false, ...extra }
    : { type, file_doc: toEntry(node), is_file: true, is_version: false, ...extra };
}

/** Every document of a doctype, page by page (design documents left out); none when the database is missing. */
export async function* allDocs(store: DocumentStore, inst: InstanceRef, doctype: string): AsyncGenerator<Doc> {
  let startkey: string | undefined;
  for (;;) {
    let rows;
    try {
      rows = (await store.allDocs(inst, doctype, { include_docs: true, limit: PAGE + 1, ...(startkey !== undefined ? { startkey } : {}) })).rows;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return;
      throw err;
    }
    for (const row of rows.slice(0, PAGE)) {
      if (row.doc && !row.key.startsWith('_design/')) yield row.doc;
    }
    if (rows.length <= PAGE) return;
    startkey = (rows[PAGE] as { key: string }).key;
  }
}

export async function loadTree(store: DocumentStore, inst: InstanceRef): Promise<IndexTree> {
  const tree: IndexTree = { byId: new Map(), children: new Map() };
  for await (const doc of allDocs(store, inst, FILES_DOCTYPE)) {
    const node: TreeNode = { doc: lightDoc(doc) as TreeNode['doc'], isDir: doc.type === 'directory', fullpath: '', isOrphan: false, hasCycle: false };
    tree.byId.set(doc._id, node);
    if (doc._id === ROOT_DIR_ID) {
      tree.root = node;
      node.fullpath = '/';
      continue;
    }
    const parent = typeof doc.dir_id === 'string' ? doc.dir_id : '';
    const list = tree.children.get(parent);
    if (list) list.push(node);
    else tree.children.set(parent, [node]);
  }
  return tree;
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * Visits a directory and everything under it (cozy-stack's cleanDirsMap): full paths of files, trashed flags
 * against the place, a path stored on a file, two children with one name, a directory whose path does not follow
 * from its parent's. Iterative, so a deep tree cannot overflow the stack.
 */
function* visit(start: TreeNode, tree: IndexTree, seen: Set<string>): Generator<FsckLog> {
  const stack = [start];
  seen.add(start.doc._id);
  for (let parent = stack.pop(); parent; parent = stack.pop()) {
    const base = typeof parent.doc.path === 'string' ? parent.doc.path : parent.fullpath;
    const inTrash = base === TRASH_PATH || base.startsWith(`${TRASH_PATH}/`);
    const names = new Set<string>();
    const kids = tree.children.get(parent.doc._id) ?? [];
    // Files first, then directories: cozy-stack's order, so the second of two equal names is the one reported.
    for (const child of kids) {
      if (child.isDir) continue;
      const name = String(child.doc.name ?? '');
      child.fullpath = join(base, name);
      child.isOrphan = parent.isOrphan;
      if (inTrash !== (child.doc.trashed === true)) yield docLog(child.doc.trashed === true ? 'trashed_not_in_trash' : 'not_trashed_in_trash', child);
      if (child.doc.path !== undefined) yield docLog('index_file_with_path', child);
      if (names.has(name)) yield docLog('index_duplicate_name', child);
      names.add(name);
    }
    for (const child of kids) {
      if (!child.isDir || seen.has(child.doc._id)) continue;
      seen.add(child.doc._id);
      const name = String(child.doc.name ?? '');
      child.fullpath = typeof child.doc.path === 'string' ? child.doc.path : '';
      child.isOrphan = parent.isOrphan;
      if (names.has(name)) yield docLog('index_duplicate_name', child);
      names.add(name);
      const expected = join(base, name);
      if (expected !== child.doc.path) yield docLog('index_bad_fullpath', child, { expected_fullpath: expected });
      stack.push(child);
    }
  }
}

/** Documents read at once when looking for conflicts. */
const CONFLICT_READS = 8;

/**
 * Documents with two branches of revisions (cozy-stack's checkNoConflicts). The store port lists conflicts only
 * on a single-document read, so every document is read again, a few at a time: an admin check, not a hot path.
 */
async function* checkConflicts(store: DocumentStore, inst: InstanceRef, tree: IndexTree): AsyncGenerator<FsckLog> {
  const nodes = [...tree.byId.values()];
  for (let i = 0; i < nodes.length; i += CONFLICT_READS) {
    const batch = nodes.slice(i, i + CONFLICT_READS);
    const docs = await Promise.all(
      batch.map((n) =>
        store.get(inst, FILES_DOCTYPE, n.doc._id, { conflicts: true }).catch((err: unknown) => {
          if ((err as { status?: number }).status === 404) return null;
          throw err;
        }),
      ),
    );
    for (const [j, doc] of docs.entries()) {
      if (doc && Array.isArray(doc._conflicts) && doc._conflicts.length > 0) yield docLog('conflict_in_index', batch[j] as TreeNode);
    }
  }
}

/**
 * cozy-stack's CheckTreeIntegrity on the index alone: conflicts (when asked: they cost a read per document), a
 * missing root or trash, the tree checks of {@link visit}, orphans (a parent that does not exist), directories in a
 * cycle, and versions of files that are gone.
 */
export async function* checkIndex(store: DocumentStore, inst: InstanceRef, tree: IndexTree, opts: { conflicts?: boolean } = {}): AsyncGenerator<FsckLog> {
  if (opts.conflicts) yield* checkConflicts(store, inst, tree);
  if (!tree.root) {
    yield { type: 'index_missing_root', is_file: false, is_version: false };
    return;
  }
  if (!tree.byId.has(TRASH_DIR_ID)) yield { type: 'index_missing_trash', is_file: false, is_version: false };
  const seen = new Set<string>();
  yield* visit(tree.root, tree, seen);

  const orphans: TreeNode[] = [];
  for (const [parentId, kids] of tree.children) {
    const parent = tree.byId.get(parentId);
    if (parent?.isDir) continue;
    for (const kid of kids) {
      kid.isOrphan = true;
      orphans.push(kid);
    }
  }
  for (const orphan of orphans) {
    if (orphan.isDir && !seen.has(orphan.doc._id)) {
      orphan.fullpath = typeof orphan.doc.path === 'string' ? orphan.doc.path : '';
      yield* visit(orphan, tree, seen);
    }
  }
  // Directories reachable neither from the root nor from an orphan sit in a cycle of parents.
  for (const node of tree.byId.values()) {
    if (node.isDir && node !== tree.root && !seen.has(node.doc._id)) {
      node.hasCycle = true;
      node.isOrphan = true;
      orphans.push(node);
    }
  }
  for (const orphan of orphans) yield docLog('index_orphan_tree', orphan);

  for await (const version of allDocs(store, inst, VERSIONS_DOCTYPE)) {
    const fileId = version._id.split('/')[0] as string;
    const file = tree.byId.get(fileId);
    if (!file || file.isDir) yield { type: 'file_missing', version_doc: lightDoc(version), is_file: false, is_version: true };
  }
}
