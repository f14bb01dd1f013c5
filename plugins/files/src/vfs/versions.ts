import {
  FILES_DOCTYPE, type ContentRef, type FilesActor, type FileVersionDoc, type InstanceRef, type RegularFileDoc,
  type VersionRef, type VfsContent,
} from '@cozy-ts/kernel';
import type { FilesConfig } from '../config.ts';
import { touchCozyMetadata } from './cozy-metadata.ts';
import type { FilesIndex } from './files-index.ts';

function createdAt(v: FileVersionDoc): string {
  return v.cozyMetadata?.createdAt ?? v.updated_at;
}

/**
 * Old contents (cozy-stack's io.cozy.files.versions, `_id` = `<file id>/<internal id>`): the keep-or-drop rule
 * of FindVersionsToClean (tagged versions always stay; none closer than the minimum delay to the previous one;
 * at most N per file), revert, and deletion. Callers hold the tree lock for changes.
 */
export class Versions {
  constructor(
    private readonly index: FilesIndex,
    private readonly vfs: VfsContent,
    private readonly cfg: FilesConfig['versions'],
  ) {}

  async list(inst: InstanceRef, fileId: string): Promise<FileVersionDoc[]> {
    const versions = await this.index.versionsOf(inst, fileId);
    return versions.sort((a, b) => createdAt(a).localeCompare(createdAt(b)));
  }

  ref(v: FileVersionDoc): VersionRef {
    const fileId = v.relationships?.file?.data?._id ?? v._id.slice(0, v._id.lastIndexOf('/'));
    return { id: fileId, internalId: v._id.slice(fileId.length + 1) };
  }

  /** Whether an overwrite of `file` now should keep its current content as a version. */
  async shouldKeep(inst: InstanceRef, file: RegularFileDoc, now: string): Promise<boolean> {
    if (this.cfg.maxNumber === 0 || !file.internal_vfs_id) return false;
    const olds = await this.list(inst, file._id);
    if (olds.length === 0) return true;
    if (olds.some((v) => v._id === `${file._id}/${file.internal_vfs_id}`)) return false;
    if ((file.tags ?? []).length > 0) return true;
    const previous = Date.parse(createdAt(olds[olds.length - 1] as FileVersionDoc));
    return !(previous + this.cfg.minDelaySeconds * 1000 > Date.parse(now));
  }

  /** After an overwrite that kept `old`'s content: its version document, then the oldest untagged ones beyond N. */
  async recordKept(inst: InstanceRef, old: RegularFileDoc, now: string): Promise<void> {
    await this.index.putVersion(inst, versionOf(old, now));
    await this.prune(inst, old._id);
  }

  /** cozy-stack keeps N including the current content: at most N-1 versions. Tagged versions are never pruned. */
  async prune(inst: InstanceRef, fileId: string): Promise<void> {
    const olds = await this.list(inst, fileId);
    let excess = olds.length + 1 - this.cfg.maxNumber;
    for (const v of olds) {
      if (excess <= 0) break;
      if ((v.tags ?? []).length > 0) continue;
      await this.drop(inst, v);
      excess--;
    }
  }

  /** Document first: a crash leaves an orphan content (fsck), not a version pointing at nothing. */
  async drop(inst: InstanceRef, v: FileVersionDoc): Promise<void> {
    await this.index.deleteVersion(inst, v);
    await this.vfs.deleteVersion(inst, this.ref(v));
  }

  /** The documents of every version of a file whose contents the backend removes with the file. */
  async dropAll(inst: InstanceRef, fileId: string): Promise<void> {
    for (const v of await this.index.versionsOf(inst, fileId)) await this.index.deleteVersion(inst, v);
  }

  async revertLocked(inst: InstanceRef, file: RegularFileDoc, v: FileVersionDoc, current: ContentRef, actor?: FilesActor): Promise<RegularFileDoc> {
    const ref = this.ref(v);
    const now = new Date().toISOString();
    await this.vfs.revertVersion(inst, current, ref);
    await this.index.putVersion(inst, versionOf(file, now));
    await this.index.deleteVersion(inst, v);
    const meta = touchCozyMetadata(inst, file.cozyMetadata, now, actor);
    for (const key of ['uploadedAt', 'uploadedOn', 'uploadedBy'] as const) {
      if (v.cozyMetadata?.[key] !== undefined) meta[key] = v.cozyMetadata[key] as never;
    }
    const next: RegularFileDoc = {
      ...file, internal_vfs_id: ref.internalId, size: v.size, md5sum: v.md5sum, updated_at: v.updated_at, tags: v.tags ?? [], cozyMetadata: meta,
    };
    if (v.metadata) next.metadata = v.metadata;
    else delete next.metadata;
    next._rev = await this.index.put(inst, next, file);
    return next;
  }
}

/** cozy-stack's NewVersion: the file's current content as a version document. */
export function versionOf(file: RegularFileDoc, now: string): Record<string, unknown> & { _id: string } {
  const cm = file.cozyMetadata;
  const meta: Record<string, unknown> = {
    doctypeVersion: '1', metadataVersion: 1, createdAt: now, updatedAt: now,
    uploadedAt: cm?.uploadedAt ?? file.updated_at,
  };
  if (cm?.uploadedOn) {
    meta.createdOn = cm.uploadedOn;
    meta.uploadedOn = cm.uploadedOn;
  }
  if (cm?.uploadedBy) meta.uploadedBy = cm.uploadedBy;
  const doc: Record<string, unknown> & { _id: string } = {
    _id: `${file._id}/${file.internal_vfs_id}`,
    updated_at: file.updated_at,
    size: file.size,
    md5sum: file.md5sum,
    tags: file.tags ?? [],
    cozyMetadata: meta,
    relationships: { file: { data: { _id: file._id, _type: FILES_DOCTYPE } } },
  };
  if (file.metadata) doc.metadata = file.metadata;
  return doc;
}
