import { DEFAULT_SELECTOR } from './rule.ts';

/** A document as the permission engine sees it: a JSON object, read by top-level field only. */
export type PermissionDoc = Readonly<Record<string, unknown>>;

const REFERENCED_BY = 'referenced_by';

/** Separator between doctype and id in a `referenced_by` rule value (cozy's RefSep). */
export const REFERENCE_SEPARATOR = '/';

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/**
 * `referenced_by` is stored as [{type, id}] but rules name references as "doctype/id", so each reference is
 * rewritten before the comparison (cozy's JSONDoc.Fetch in pkg/couchdb/couchdb.go).
 */
function referenceTexts(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .map((ref: unknown) => {
      if (typeof ref !== 'object' || ref === null) return undefined;
      const { type, id } = ref as { type?: unknown; id?: unknown };
      return typeof type === 'string' && typeof id === 'string' ? `${type}${REFERENCE_SEPARATOR}${id}` : undefined;
    })
    .filter(isDefined);
}

/**
 * The values of `doc` a rule with this selector is compared with (cozy's Fetcher.Fetch). An array field
 * such as `tags` yields each of its elements, the way cozy's FileDoc does, so that a rule on one tag matches
 * any document carrying it. Objects and missing fields yield nothing and so never match.
 */
export function selectorValues(doc: PermissionDoc | undefined, selector: string = DEFAULT_SELECTOR): string[] {
  if (doc === undefined) return [];
  const value = doc[selector];
  if (selector === REFERENCED_BY) return referenceTexts(value);
  if (Array.isArray(value)) return value.map(scalarText).filter(isDefined);
  const text = scalarText(value);
  return text === undefined ? [] : [text];
}
