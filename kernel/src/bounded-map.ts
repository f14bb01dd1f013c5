/**
 * A Map that holds at most `max` entries: adding a new key past that forgets the oldest one. Caches of verified
 * credentials, compiled functions and path hints use it so that no client or tenant can grow them without end.
 * `touch` makes it least-recently-used rather than first-in-first-out for the callers that want that.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.max) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }

  /** The value, moved to the newest end so that it is forgotten last. */
  touch(key: K): V | undefined {
    const value = super.get(key);
    if (value !== undefined) {
      this.delete(key);
      super.set(key, value);
    }
    return value;
  }
}
