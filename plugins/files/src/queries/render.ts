import type { Doc, FileDoc, InstanceRef, JsonApiResource, RegularFileDoc } from '@cozy-ts/kernel';
import { dirResource, fileResource } from '../http/serialize.ts';
import { DirPaths } from './dir-paths.ts';

export type FileLinksFn = (inst: InstanceRef, doc: RegularFileDoc) => Promise<Record<string, string> | undefined>;

/**
 * io.cozy.files documents as /files renders them, for a listing: directories as they are, files with their full
 * path (when asked) and their thumbnail links. Documents of a `fields` query may lack members; they are rendered
 * with what they have.
 */
export async function renderDocs(
  docs: Doc[],
  inst: InstanceRef,
  paths: DirPaths,
  fileLinks: FileLinksFn,
  opts: { includePath: boolean },
): Promise<JsonApiResource[]> {
  paths.prime(docs);
  return Promise.all(
    docs.map(async (raw) => {
      const doc = raw as unknown as FileDoc;
      if (doc.type === 'directory') return dirResource(doc);
      const path = opts.includePath ? await paths.pathOf(raw) : null;
      const links = await fileLinks(inst, doc);
      return fileResource(doc, { ...(links ? { links } : {}), ...(path !== null ? { path } : {}) });
    }),
  );
}
