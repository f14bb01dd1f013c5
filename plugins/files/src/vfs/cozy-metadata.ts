import type { FilesActor, FilesCozyMetadata, InstanceRef, UpdatedByAppEntry } from '@cozy-ts/kernel';

/** cozy-stack's DocTypeVersion for io.cozy.files and metadata.MetadataVersion. */
const DOCTYPE_VERSION = '1';
const METADATA_VERSION = 1;

export function instanceUrl(inst: InstanceRef): string {
  return `https://${inst.domain}/`;
}

/** cozy-stack's NewCozyMetadata plus `createdByApp` when an app or konnector makes the entry. */
export function newCozyMetadata(inst: InstanceRef, now: string, actor?: FilesActor): FilesCozyMetadata {
  const meta: FilesCozyMetadata = {
    doctypeVersion: DOCTYPE_VERSION,
    metadataVersion: METADATA_VERSION,
    createdAt: now,
    updatedAt: now,
    createdOn: instanceUrl(inst),
  };
  if (actor?.slug) {
    meta.createdByApp = actor.slug;
    if (actor.version) meta.createdByAppVersion = actor.version;
    meta.updatedByApps = [appEntry(inst, now, actor)];
  }
  return meta;
}

function appEntry(inst: InstanceRef, now: string, actor: FilesActor): UpdatedByAppEntry {
  const entry: UpdatedByAppEntry = { slug: actor.slug as string, date: now, instance: instanceUrl(inst) };
  if (actor.version) entry.version = actor.version;
  return entry;
}

/** A change by `actor`: `updatedAt` moves, and the app goes last in `updatedByApps` (once per slug and instance). */
export function touchCozyMetadata(inst: InstanceRef, meta: FilesCozyMetadata | undefined, now: string, actor?: FilesActor): FilesCozyMetadata {
  const next: FilesCozyMetadata = meta ? { ...meta } : newCozyMetadata(inst, now);
  next.updatedAt = now;
  if (actor?.slug) {
    const entry = appEntry(inst, now, actor);
    const others = (next.updatedByApps ?? []).filter((e) => !(e.slug === entry.slug && e.instance === entry.instance));
    next.updatedByApps = [...others, entry];
  }
  return next;
}

/** A new content from `actor`: cozy-stack's `uploadedAt`, `uploadedOn` and `uploadedBy`. */
export function uploadCozyMetadata(inst: InstanceRef, meta: FilesCozyMetadata, now: string, actor?: FilesActor): FilesCozyMetadata {
  const next: FilesCozyMetadata = { ...meta, uploadedAt: now, uploadedOn: instanceUrl(inst) };
  const by: NonNullable<FilesCozyMetadata['uploadedBy']> = {};
  if (actor?.slug) by.slug = actor.slug;
  if (actor?.version) by.version = actor.version;
  if (actor?.oauthClient) by.oauthClient = { ...actor.oauthClient };
  if (Object.keys(by).length > 0) next.uploadedBy = by;
  else delete next.uploadedBy;
  return next;
}

/** Merges a patch: a null value removes the key. */
export function mergeObject<T extends Record<string, unknown>>(base: T | undefined, patch: Record<string, unknown>): T {
  const next: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next as T;
}
