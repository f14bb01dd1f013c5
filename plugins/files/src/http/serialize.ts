import {
  FILES_DOCTYPE, FILES_VERSIONS_DOCTYPE, ROOT_DIR_ID, isDir,
  type DirDoc, type FileDoc, type FileVersionDoc, type JsonApiResource, type RegularFileDoc,
} from '@cozy-ts/kernel';

/** Extra links for a file (thumbnails), given by whoever renders it. */
export type FileLinks = Record<string, string>;

function ref(id: string) {
  return { type: FILES_DOCTYPE, id };
}

function parentRel(dirId: string | undefined, kind: 'related' | 'self'): Record<string, unknown> | undefined {
  if (!dirId) return undefined;
  return { links: { [kind]: `/files/${dirId}` }, data: ref(dirId) };
}

function referencedByRel(doc: FileDoc) {
  return { links: { self: `/files/${doc._id}/relationships/references` }, data: doc.referenced_by ?? [] };
}

/**
 * A file as cozy-stack renders it: every stored field but `internal_vfs_id` and `referenced_by` (a relationship
 * instead), `size` as a string, links to itself (and its thumbnails, when the caller has them).
 */
export function fileResource(doc: RegularFileDoc, extra: { links?: FileLinks; path?: string; versions?: FileVersionDoc[] } = {}): JsonApiResource {
  const { _id, _rev, internal_vfs_id, referenced_by, ...attributes } = doc;
  void internal_vfs_id;
  void referenced_by;
  if (extra.path !== undefined) attributes.path = extra.path;
  const relationships: Record<string, unknown> = { parent: parentRel(doc.dir_id, 'related'), referenced_by: referencedByRel(doc) };
  if (extra.versions && extra.versions.length > 0) {
    relationships.old_versions = { data: extra.versions.map((v) => ({ type: FILES_VERSIONS_DOCTYPE, id: v._id })) };
  }
  return { type: FILES_DOCTYPE, id: _id, attributes, meta: { rev: _rev }, relationships, links: { self: `/files/${_id}`, ...(extra.links ?? {}) } };
}

/** A directory as cozy-stack renders it when it is not the one listed: all its fields, its references. */
export function dirResource(doc: DirDoc): JsonApiResource {
  const { _id, _rev, ...attributes } = doc;
  const relationships: Record<string, unknown> = { referenced_by: referencedByRel(doc) };
  return { type: FILES_DOCTYPE, id: _id, attributes, meta: { rev: _rev }, relationships, links: { self: `/files/${_id}` } };
}

export function entryResource(doc: FileDoc, links?: FileLinks): JsonApiResource {
  return isDir(doc) ? dirResource(doc) : fileResource(doc, { links });
}

/** The listed directory: parent, contents (ids, count, next page), not-synchronized-on and references. */
export function listedDirResource(doc: DirDoc, children: FileDoc[], count: number, next?: string): JsonApiResource {
  const res = dirResource(doc);
  const contents: Record<string, unknown> = {
    meta: { count },
    links: { self: `/files/${doc._id}/relationships/contents`, ...(next ? { next: `/files/${doc._id}/relationships/contents?${next}` } : {}) },
    data: children.map((c) => ref(c._id)),
  };
  res.relationships = {
    ...(doc._id !== ROOT_DIR_ID ? { parent: parentRel(doc.dir_id, 'self') } : {}),
    contents,
    not_synchronized_on: { links: { self: `/files/${doc._id}/relationships/not_synchronized_on` }, data: doc.not_synchronized_on ?? [] },
    referenced_by: referencedByRel(doc),
  };
  return res;
}

/** An io.cozy.files.versions document, with the `file_id` attribute cozy-stack adds. */
export function versionResource(v: FileVersionDoc): JsonApiResource {
  const { _id, _rev, relationships, ...attributes } = v;
  const fileId = relationships?.file?.data?._id ?? _id.slice(0, _id.lastIndexOf('/'));
  return { type: FILES_VERSIONS_DOCTYPE, id: _id, attributes: { file_id: fileId, ...attributes }, meta: { rev: _rev }, relationships: relationships as Record<string, unknown> };
}
