import { BoundedMap, type InstanceRef } from '@cozy-ts/kernel';

/** About 200 bytes each at most (prefix, path, id): a few MiB when full. */
const MAX_HINTS = 20_000;

/**
 * Where this process last saw each path: the id of the entry that was there. A hint is never trusted: the caller
 * reads the document by id (a point read, ~0.1 ms on the embedded store, against 3-4 ms for a `_find` on the path
 * index or ~1 ms for a view query) and checks that it still sits at that path, and falls back to the indexes when it
 * does not. So a rename, move, trash or delete made by any process of a farm, or by any writer at all, can never be
 * served stale, and nothing has to invalidate the hints; they only go out of date, and are dropped when seen to.
 * Bounded, least recently used first out.
 */
export interface PathHint {
  id: string;
  /** Seen as a directory: its own stored path checks it, its parent need not be read. */
  dir: boolean;
}

export class PathHints {
  readonly #ids: BoundedMap<string, PathHint>;

  constructor(max = MAX_HINTS) {
    this.#ids = new BoundedMap(max);
  }

  get(inst: InstanceRef, path: string): PathHint | undefined {
    // Refreshed on use: the least recently used hint is the first forgotten.
    return this.#ids.touch(`${inst.prefix}\n${path}`);
  }

  set(inst: InstanceRef, path: string, id: string, dir: boolean): void {
    const key = `${inst.prefix}\n${path}`;
    this.#ids.delete(key);
    this.#ids.set(key, { id, dir });
  }

  drop(inst: InstanceRef, path: string): void {
    this.#ids.delete(`${inst.prefix}\n${path}`);
  }

  get size(): number {
    return this.#ids.size;
  }
}
