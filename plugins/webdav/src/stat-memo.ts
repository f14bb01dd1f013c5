/**
 * A request's lookups by path, each made once however often the DAV core asks (a PROPFIND or a COPY stats the
 * same paths several times). A failed lookup is forgotten, so that asking again looks again; a write clears all.
 */
export class StatMemo<T> {
  readonly #hits = new Map<string, Promise<T>>();

  get(path: string, lookup: (path: string) => Promise<T>): Promise<T> {
    let hit = this.#hits.get(path);
    if (!hit) {
      hit = lookup(path);
      this.#hits.set(path, hit);
      hit.catch(() => this.#hits.delete(path));
    }
    return hit;
  }

  clear(): void {
    this.#hits.clear();
  }
}
