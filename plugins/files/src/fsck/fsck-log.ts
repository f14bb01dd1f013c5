import type { Doc } from '@cozy-ts/kernel';

/** cozy-stack's anomaly kinds (model/vfs/fsck.go), with their wire names. */
export const FSCK_TYPES = [
  'index_missing_root',
  'index_missing_trash',
  'index_orphan_tree',
  'index_bad_fullpath',
  'filesystem_missing',
  'index_missing',
  'type_mismatch',
  'content_mismatch',
  'file_missing',
  'index_file_with_path',
  'index_duplicate_name',
  'trashed_not_in_trash',
  'not_trashed_in_trash',
  'conflict_in_index',
  'thumbnail_with_no_file',
] as const;

export type FsckType = (typeof FSCK_TYPES)[number];

/** An entry as cozy-stack's TreeFile serialises it: the document, its full path, and where it sits in the tree. */
export interface FsckEntry {
  _id?: string;
  _rev?: string;
  type: 'file' | 'directory';
  name?: string;
  dir_id?: string;
  path?: string;
  is_dir: boolean;
  is_orphan: boolean;
  has_cycle: boolean;
  [field: string]: unknown;
}

export interface FsckContentMismatch {
  size_index: number;
  size_file: number;
  /** Base64, as Go encodes a []byte. */
  md5sum_index: string;
  md5sum_file: string;
}

/** One anomaly, in cozy-stack's FsckLog shape: one JSON object per line of the admin stream. */
export interface FsckLog {
  type: FsckType;
  file_doc?: FsckEntry;
  dir_doc?: FsckEntry;
  version_doc?: Record<string, unknown>;
  is_file: boolean;
  is_version: boolean;
  content_mismatch?: FsckContentMismatch;
  expected_fullpath?: string;
}

/** What each kind means, as cozy-stack's `FsckLog.String()` says it (the CLI prints these). */
export function describe(log: FsckLog): string {
  switch (log.type) {
    case 'index_missing_root':
      return 'the root directory is not present in the index';
    case 'index_missing_trash':
      return 'the trash directory is not present in the index';
    case 'index_orphan_tree':
      return log.is_file ? "the file's parent is missing from the index: orphan file" : "the directory's parent is missing from the index: orphan tree";
    case 'index_bad_fullpath':
      return 'the directory does not have the correct path information given its position in the index';
    case 'filesystem_missing':
      return log.is_file || log.is_version ? 'the file is present in the index but not on the filesystem' : 'the directory is present in the index but not on the filesystem';
    case 'index_missing':
      return 'the document is present on the local filesystem but not in the index';
    case 'type_mismatch':
      return log.is_file ? "it's a file in the index but a directory on the filesystem" : "it's a directory in the index but a file on the filesystem";
    case 'content_mismatch':
      return 'the document content does not match the store content checksum';
    case 'file_missing':
      return 'the document is a version whose file is not present in the index';
    case 'index_file_with_path':
      return 'the file document in CouchDB has a path field';
    case 'index_duplicate_name':
      return 'two documents have the same name inside the same folder';
    case 'trashed_not_in_trash':
      return 'a file document has trashed set to true but its parent is not in the trash';
    case 'not_trashed_in_trash':
      return 'a file document has trashed set to false but its parent is in the trash';
    case 'conflict_in_index':
      return 'this document has a conflict in CouchDB between two branches of revisions';
    case 'thumbnail_with_no_file':
      return 'a thumbnail exists but its original file has been removed';
  }
}

/** Fields left out of logged documents, as cozy-stack's admin handler does: they can make a line huge. */
const HEAVY_FIELDS = ['metadata', 'cozyMetadata', 'referenced_by', 'not_synchronized_on'];

export function lightDoc(doc: Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!HEAVY_FIELDS.includes(k)) out[k] = v;
  return out;
}
