import { isDir, type FileDoc, type InstanceRef, type JsonApiResource } from '@cozy-ts/kernel';
import type { RouteDeps } from './deps.ts';
import { dirResource, fileResource, versionResource } from './serialize.ts';

/** An entry as JSON:API, with the links only a live service can give (thumbnails). */
export async function renderEntry(d: RouteDeps, inst: InstanceRef, doc: FileDoc, extra: { path?: string; withVersions?: boolean } = {}): Promise<{ data: JsonApiResource; included?: JsonApiResource[] }> {
  if (isDir(doc)) return { data: dirResource(doc) };
  const links = await d.fileLinks(inst, doc);
  if (!extra.withVersions) return { data: fileResource(doc, { links, path: extra.path }) };
  const versions = await d.svc.listVersions(inst, doc._id);
  return { data: fileResource(doc, { links, path: extra.path, versions }), included: versions.map(versionResource) };
}

export async function renderEntries(d: RouteDeps, inst: InstanceRef, docs: FileDoc[]): Promise<JsonApiResource[]> {
  return Promise.all(docs.map(async (doc) => (await renderEntry(d, inst, doc)).data));
}
