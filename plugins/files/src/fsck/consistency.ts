import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Doc, DocumentStore, InstanceRef, StoredEntry, VfsContent } from '@cozy-ts/kernel';
import { lightDoc, type FsckEntry, type FsckLog } from './fsck-log.ts';
import { allDocs, toEntry, VERSIONS_DOCTYPE, type IndexTree, type TreeNode } from './index-tree.ts';

async function md5Of(stream: Readable): Promise<Buffer> {
  const hash = createHash('md5');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest();
}

function indexMd5(doc: Record<string, unknown>): Buffer {
  return typeof doc.md5sum === 'string' ? Buffer.from(doc.md5sum, 'base64') : Buffer.alloc(0);
}

function indexSize(doc: Record<string, unknown>): number {
  const n = Number(doc.size);
  return Number.isFinite(n) ? n : -1;
}

/** What the backend holds that the index does not know, shaped as cozy-stack builds it from a file's stat. */
function storedEntry(entry: StoredEntry): FsckEntry {
  if (entry.kind === 'dir') {
    const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
    return { type: 'directory', name, dir_id: '', path: entry.path, is_dir: true, is_orphan: false, has_cycle: false };
  }
  if (entry.kind === 'file') {
    const name = entry.path.slice(entry.path.lastIndexOf('/') + 1);
    const date = entry.mtime.toISOString();
    return { type: 'file', name, dir_id: '', path: entry.path, size: String(entry.size), created_at: date, updated_at: date, is_dir: false, is_orphan: false, has_cycle: false };
  }
  if (entry.kind === 'thumbnail') {
    return { _id: entry.id, type: 'file', name: `${entry.id}-${entry.format}`, is_dir: false, is_orphan: false, has_cycle: false };
  }
  const date = entry.mtime.toISOString();
  return { _id: entry.id, type: 'file', name: 'unknown', dir_id: '', internal_vfs_id: entry.internalId, size: String(entry.size), created_at: date, updated_at: date, is_dir: false, is_orphan: false, has_cycle: false };
}

function versionKey(id: string, internalId: string): string {
  return `${id}/${internalId}`;
}

export interface ConsistencyOptions {
  /** Read every content whose size matches to compare its MD5 too (cozy-stack does on a local disk). Default true. */
  checkMd5?: boolean;
}

/**
 * cozy-stack's checkFiles: the index against what the `vfs` backend holds (its `walk`). Path-addressed backends
 * are matched by full path (directories too), id-addressed ones by file id and internal id. Contents of the same
 * size are read and hashed, one at a time, so memory stays flat whatever their size.
 */
export async function* checkContents(
  store: DocumentStore,
  vfs: VfsContent,
  inst: InstanceRef,
  tree: IndexTree,
  opts: ConsistencyOptions = {},
): AsyncGenerator<FsckLog> {
  const checkMd5 = opts.checkMd5 ?? true;
  const byPath = new Map<string, TreeNode>();
  const byContent = new Map<string, TreeNode>();
  const fileIds = new Set<string>();
  for (const node of tree.byId.values()) {
    if (!node.isDir) fileIds.add(node.doc._id);
    if (node.isOrphan || node.hasCycle || node === tree.root || !node.fullpath) continue;
    if (vfs.addressing === 'path') byPath.set(node.fullpath, node);
    else if (!node.isDir && typeof node.doc.internal_vfs_id === 'string') byContent.set(versionKey(node.doc._id, node.doc.internal_vfs_id), node);
  }
  const versions = new Map<string, Doc>();
  for await (const v of allDocs(store, inst, VERSIONS_DOCTYPE)) versions.set(v._id, v);

  const compare = async function* (node: TreeNode, size: number, open: () => Promise<Readable>): AsyncGenerator<FsckLog> {
    const wantSize = indexSize(node.doc);
    const wantMd5 = indexMd5(node.doc);
    let md5 = wantMd5;
    if (size === wantSize && checkMd5) md5 = await md5Of(await open());
    if (size !== wantSize || !md5.equals(wantMd5)) {
      yield {
        type: 'content_mismatch',
        file_doc: toEntry(node),
        is_file: true,
        is_version: false,
        content_mismatch: { size_index: wantSize, size_file: size, md5sum_index: wantMd5.toString('base64'), md5sum_file: size === wantSize ? md5.toString('base64') : '' },
      };
    }
  };

  const compareVersion = async function* (v: Doc, size: number, open: () => Promise<Readable>): AsyncGenerator<FsckLog> {
    const wantSize = indexSize(v);
    const wantMd5 = indexMd5(v);
    let md5 = wantMd5;
    if (size === wantSize && checkMd5) md5 = await md5Of(await open());
    if (size !== wantSize || !md5.equals(wantMd5)) {
      yield {
        type: 'content_mismatch',
        version_doc: lightDoc(v),
        is_file: false,
        is_version: true,
        content_mismatch: { size_index: wantSize, size_file: size, md5sum_index: wantMd5.toString('base64'), md5sum_file: size === wantSize ? md5.toString('base64') : '' },
      };
    }
  };

  for await (const entry of vfs.walk(inst)) {
    switch (entry.kind) {
      case 'dir':
      case 'file': {
        const node = byPath.get(entry.path);
        const isDir = entry.kind === 'dir';
        if (!node) {
          const stored = storedEntry(entry);
          yield isDir ? { type: 'index_missing', dir_doc: stored, is_file: false, is_version: false } : { type: 'index_missing', file_doc: stored, is_file: true, is_version: false };
          continue;
        }
        byPath.delete(entry.path);
        if (node.isDir !== isDir) {
          yield node.isDir
            ? { type: 'type_mismatch', dir_doc: toEntry(node), file_doc: storedEntry(entry), is_file: false, is_version: false }
            : { type: 'type_mismatch', file_doc: toEntry(node), dir_doc: storedEntry(entry), is_file: true, is_version: false };
          continue;
        }
        if (entry.kind === 'file') {
          const ref = { id: node.doc._id, internalId: String(node.doc.internal_vfs_id ?? ''), path: entry.path };
          yield* compare(node, entry.size, () => vfs.read(inst, ref));
        }
        continue;
      }
      case 'version':
      case 'object': {
        const key = versionKey(entry.id, entry.internalId);
        const version = versions.get(key);
        if (version) {
          versions.delete(key);
          yield* compareVersion(version, entry.size, () => vfs.readVersion(inst, { id: entry.id, internalId: entry.internalId }));
          continue;
        }
        const node = entry.kind === 'object' ? byContent.get(key) : undefined;
        if (!node) {
          yield entry.kind === 'version'
            ? { type: 'index_missing', version_doc: { _id: key, size: String(entry.size), updated_at: entry.mtime.toISOString() }, is_file: false, is_version: true }
            : { type: 'index_missing', file_doc: storedEntry(entry), is_file: true, is_version: false };
          continue;
        }
        byContent.delete(key);
        const path = node.fullpath;
        yield* compare(node, entry.size, () => vfs.read(inst, { id: entry.id, internalId: entry.internalId, path }));
        continue;
      }
      case 'thumbnail':
        if (!fileIds.has(entry.id)) yield { type: 'thumbnail_with_no_file', file_doc: storedEntry(entry), is_file: true, is_version: false };
        continue;
    }
  }

  for (const node of [...byPath.values(), ...byContent.values()]) {
    yield node.isDir
      ? { type: 'filesystem_missing', dir_doc: toEntry(node), is_file: false, is_version: false }
      : { type: 'filesystem_missing', file_doc: toEntry(node), is_file: true, is_version: false };
  }
  for (const v of versions.values()) yield { type: 'filesystem_missing', version_doc: lightDoc(v), is_file: false, is_version: true };
}
