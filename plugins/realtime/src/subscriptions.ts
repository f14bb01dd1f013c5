interface Filter {
  /** Every document of the doctype. */
  whole: boolean;
  ids: Set<string>;
}

/**
 * What one socket listens to, per doctype: the whole doctype and/or some ids. Same rules as cozy-stack's topic
 * filters (pkg/realtime/topic.go): UNSUBSCRIBE of a doctype drops everything on it, ids included; unwatching an
 * id leaves a whole-doctype subscription in place.
 */
export class Subscriptions {
  readonly #filters = new Map<string, Filter>();
  #size = 0;

  /** Doctypes subscribed whole plus ids watched. */
  get size(): number {
    return this.#size;
  }

  subscribe(doctype: string): void {
    const f = this.#filter(doctype);
    if (!f.whole) this.#size++;
    f.whole = true;
  }

  watch(doctype: string, id: string): void {
    const f = this.#filter(doctype);
    if (!f.ids.has(id)) this.#size++;
    f.ids.add(id);
  }

  unsubscribe(doctype: string): void {
    const f = this.#filters.get(doctype);
    if (!f) return;
    this.#size -= (f.whole ? 1 : 0) + f.ids.size;
    this.#filters.delete(doctype);
  }

  unwatch(doctype: string, id: string): void {
    const f = this.#filters.get(doctype);
    if (!f?.ids.delete(id)) return;
    this.#size--;
    if (!f.whole && f.ids.size === 0) this.#filters.delete(doctype);
  }

  /** Whether this exact subscription (the whole doctype when `id` is empty) is held. */
  has(doctype: string, id: string): boolean {
    const f = this.#filters.get(doctype);
    return !!f && (id ? f.ids.has(id) : f.whole);
  }

  /** Whether an event on this document is for this socket. */
  matches(doctype: string, id: string): boolean {
    const f = this.#filters.get(doctype);
    return !!f && (f.whole || f.ids.has(id));
  }

  #filter(doctype: string): Filter {
    let f = this.#filters.get(doctype);
    if (!f) this.#filters.set(doctype, (f = { whole: false, ids: new Set() }));
    return f;
  }
}
