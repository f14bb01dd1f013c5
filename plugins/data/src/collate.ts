/**
 * CouchDB's collation of JSON values (docs.couchdb.org "Views Collation"): null < false < true < numbers < strings
 * < arrays < objects; arrays element by element, objects member by member in their order. Strings use ICU's
 * collation in CouchDB; Intl.Collator is the same family of algorithm (Unicode Collation) and agrees on the usual
 * cases (case-insensitive first, lower case before upper case), with a code-point tie-break so that only equal
 * strings compare equal.
 */
const collator = new Intl.Collator('en', { sensitivity: 'variant' });

function rank(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (value === false) return 1;
  if (value === true) return 2;
  if (typeof value === 'number') return 3;
  if (typeof value === 'string') return 4;
  if (Array.isArray(value)) return 5;
  return 6;
}

function compareStrings(a: string, b: string): number {
  const c = collator.compare(a, b);
  if (c !== 0) return c;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareLists(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = collate(a[i], b[i]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareObjects(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const ea = Object.entries(a);
  const eb = Object.entries(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
    const [ka, va] = ea[i] as [string, unknown];
    const [kb, vb] = eb[i] as [string, unknown];
    const c = compareStrings(ka, kb) || collate(va, vb);
    if (c !== 0) return c;
  }
  return ea.length - eb.length;
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function collate(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number') return a - (b as number);
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (Array.isArray(a)) return compareLists(a, b as unknown[]);
  if (ra === 6) return compareObjects(a as Record<string, unknown>, b as Record<string, unknown>);
  return 0;
}
