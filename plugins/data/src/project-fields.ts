import { isPlainObject } from './doc-body.ts';

/**
 * cozy's `Fields` projection of a document (pkg/couchdb/stream): the listed dotted paths are kept, with the objects
 * leading to them; a path naming an object or an array keeps all of it.
 */
export function projectFields(doc: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Objects built here, as opposed to values copied whole from the doc (which must never be written into).
  const built = new WeakSet<object>([out]);
  for (const path of paths) {
    const parts = path.split('.');
    let source: Record<string, unknown> = doc;
    let target: Record<string, unknown> = out;
    for (const [i, part] of parts.entries()) {
      if (!Object.hasOwn(source, part)) break;
      const value = source[part];
      if (i === parts.length - 1) {
        target[part] = value;
        break;
      }
      if (!isPlainObject(value)) break;
      const existing = target[part];
      if (existing !== undefined && !(isPlainObject(existing) && built.has(existing))) break;
      const next = (existing as Record<string, unknown> | undefined) ?? {};
      built.add(next);
      target[part] = next;
      target = next;
      source = value;
    }
  }
  return out;
}
