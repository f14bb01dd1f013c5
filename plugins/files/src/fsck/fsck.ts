import type { DocumentStore, InstanceRef, VfsContent } from '@cozy-ts/kernel';
import { checkContents } from './consistency.ts';
import type { FsckLog } from './fsck-log.ts';
import { checkIndex, loadTree } from './index-tree.ts';

export interface FsckOptions {
  /** `all` (cozy-stack's Fsck), `index` (IndexIntegrity: the store alone), `files` (FilesConsistency: store vs content). */
  mode?: 'all' | 'index' | 'files';
  /** Stop at the first anomaly. */
  failFast?: boolean;
  /** Hash contents whose size matches (default true). */
  checkMd5?: boolean;
}

/**
 * Checks an instance's files: the io.cozy.files index on its own, then against the contents the `vfs` backend
 * holds. Anomalies are yielded as found, so a caller can stream them; the index is held in memory (lightened of
 * metadata) as cozy-stack does, the backend is walked as a stream.
 */
export async function* fsck(store: DocumentStore, vfs: VfsContent, inst: InstanceRef, opts: FsckOptions = {}): AsyncGenerator<FsckLog> {
  const mode = opts.mode ?? 'all';
  const tree = await loadTree(store, inst);
  const index = checkIndex(store, inst, tree, { conflicts: mode !== 'files' });
  // The index walk also places every entry (a file's full path comes from its parents): run it even when only
  // the contents are reported.
  if (mode === 'files') for await (const _ of index);
  const checks = [...(mode !== 'files' ? [index] : []), ...(mode !== 'index' ? [checkContents(store, vfs, inst, tree, { checkMd5: opts.checkMd5 })] : [])];
  for (const check of checks) {
    for await (const log of check) {
      yield log;
      if (opts.failFast) {
        await check.return(undefined);
        return;
      }
    }
  }
}
