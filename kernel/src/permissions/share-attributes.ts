import { badScope } from './errors.ts';
import type { ManifestPermissions } from './parse.ts';
import { parseManifestRule } from './parse.ts';
import { ruleToJSON, type Rule } from './rule.ts';
import { ShareErrors } from './share-errors.ts';

/**
 * Reading the attributes of POST and PATCH /permissions bodies into domain values. Every refusal names the
 * attribute, as cozy-stack's jsonapi.InvalidAttribute does.
 */

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON null reads as absent, as Go's decoder leaves an interface{} field nil. */
export function isAbsent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

function invalid(attribute: string, problem: string) {
  return ShareErrors.invalidAttribute(`Invalid attribute ${attribute}: ${problem}`, {
    source: { pointer: `/data/attributes/${attribute}` },
  });
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 date (what Go's time.Parse(time.RFC3339) accepts), returned in UTC ISO form. */
export function parseExpiresAt(value: unknown): string {
  const time = typeof value === 'string' && RFC3339.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) throw invalid('expires_at', 'expected an RFC 3339 date');
  return new Date(time).toISOString();
}

/** A password attribute: absent, or a string ("" meaning none). */
export function readPassword(value: unknown): string | undefined {
  if (isAbsent(value)) return undefined;
  if (typeof value !== 'string') throw invalid('password', 'expected a string');
  return value;
}

/** The names of a `codes` object; its values are not read (see PermissionDocService.patch). */
export function readCodeNames(value: unknown): string[] | undefined {
  if (isAbsent(value)) return undefined;
  if (!isObject(value)) throw invalid('codes', 'expected an object of named codes');
  const names = Object.keys(value);
  return names.length > 0 ? names : undefined;
}

export interface RuleChanges {
  add: Rule[];
  /** Titles of the rules to drop: a rule given without a type (`{"old": {}}`). */
  remove: string[];
}

/** A PATCH `permissions` object: named rules to add or replace, and empty ones to remove (cozy's semantics). */
export function readRuleChanges(value: unknown): RuleChanges {
  const changes: RuleChanges = { add: [], remove: [] };
  if (isAbsent(value)) return changes;
  if (!isObject(value)) throw badScope('permissions must be an object of named rules');
  for (const [title, raw] of Object.entries(value)) {
    if (isObject(raw) && (isAbsent(raw.type) || raw.type === '')) changes.remove.push(title);
    else changes.add.push(parseManifestRule(title, raw));
  }
  return changes;
}

export function hasRuleChanges(changes: RuleChanges): boolean {
  return changes.add.length > 0 || changes.remove.length > 0;
}

/** The stored rules after a PATCH: removals first, then additions in place of a same-named rule or at the end. */
export function applyRuleChanges(current: ManifestPermissions, changes: RuleChanges): ManifestPermissions {
  const rules = new Map(Object.entries(current ?? {}));
  for (const title of changes.remove) rules.delete(title);
  for (const rule of changes.add) rules.set(rule.title as string, ruleToJSON(rule));
  return Object.fromEntries(rules);
}
