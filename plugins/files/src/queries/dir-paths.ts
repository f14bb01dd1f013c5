import type { Doc, DocumentStore, InstanceRef } from '@cozy-ts/kernel';

const FILES_DOCTYPE = 'io.cozy.files';

/** The full path of a file: its parent directory's path and its name (the root's children start with `/`). */
export function joinPath(dirPath: string, name: string): string {
  return dirPath === '/' ? `/${name}` : `${dirPath}/${name}`;
}

/**
 * Full paths of files, as cozy-stack's FilePatherWithCache: a file stores only `dir_id` and `name`, so its path
 * is its parent directory's `path` plus its name. Parents are read once per listing (one store read per distinct
 * directory), which keeps a page of 1,000 files in a few folders at a few reads. Meant for one request: the
 * cache never sees a later rename.
 */
export class DirPaths {
  readonly #cache = new Map<string, Promise<string | null>>();

  constructor(
    private readonly store: DocumentStore,
    private readonly inst: InstanceRef,
  ) {}

  /** Remembers directories the caller already holds, so they are not read again. */
  prime(docs: Iterable<Doc>): void {
    for (const doc of docs) {
      if (doc.type === 'directory' && typeof doc.path === 'string' && !this.#cache.has(doc._id)) {
        this.#cache.set(doc._id, Promise.resolve(doc.path));
      }
    }
  }

  /** The path of a directory by id; null when it does not exist (an orphan's parent). */
  dirPath(id: string): Promise<string | null> {
    let hit = this.#cache.get(id);
    if (!hit) {
      hit = this.#read(id);
      this.#cache.set(id, hit);
    }
    return hit;
  }

  /** The path of an entry: a directory's own, a file's computed; null when the parent is unknown. */
  async pathOf(doc: Doc): Promise<string | null> {
    if (doc.type === 'directory') return typeof doc.path === 'string' ? doc.path : null;
    if (typeof doc.dir_id !== 'string' || typeof doc.name !== 'string') return null;
    const parent = await this.dirPath(doc.dir_id);
    return parent === null ? null : joinPath(parent, doc.name);
  }

  async #read(id: string): Promise<string | null> {
    try {
      const dir = await this.store.get(this.inst, FILES_DOCTYPE, id);
      return dir.type === 'directory' && typeof dir.path === 'string' ? dir.path : null;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }
}
