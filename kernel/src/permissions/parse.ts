import { isMaximalType, isValidDoctypeName, MAXIMAL_TYPE } from './doctype.ts';
import { badScope, inContext } from './errors.ts';
import type { Rule, RuleJSON } from './rule.ts';
import { hasValues, makeRule, ruleToJSON } from './rule.ts';
import { ALL_VERBS_WORD, VerbSet } from './verbs.ts';

/**
 * The two spellings of a permission set in cozy-stack (docs/permissions.md, model/permission/set.go and
 * rule.go): the manifest form, an object of named rules, and the OAuth scope form, space-separated
 * `type[:VERBS[:value,…[:selector]]]`.
 */

const RULE_SEPARATOR = ' ';
const PART_SEPARATOR = ':';
const LIST_SEPARATOR = ',';
const MAX_SCOPE_PARTS = 4;

/** The manifest form: rule name → rule. */
export type ManifestPermissions = Record<string, RuleJSON>;

export interface ManifestParseOptions {
  /**
   * Accept the `*` type. Off by default because cozy-stack refuses it in app manifests and in permission
   * patches (CheckDoctypeName); a stored permission document of a flagship token is the one place it occurs.
   */
  allowMaximal?: boolean;
}

function checkType(type: string, allowMaximal: boolean): void {
  if (allowMaximal && isMaximalType(type)) return;
  if (!isValidDoctypeName(type, true)) throw badScope(`"${type}" is not a valid doctype name`);
}

// ---------------------------------------------------------------------------------------------------------
// Manifest form

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON null reads as absent, as Go's decoder leaves the zero value. */
function optionalString(raw: JsonObject, field: string): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badScope(`"${field}" must be a string`);
  return value;
}

function optionalStrings(raw: JsonObject, field: string): string[] | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw badScope(`"${field}" must be a list of strings`);
  }
  return value as string[];
}

function manifestVerbs(raw: JsonObject): VerbSet {
  const words = optionalStrings(raw, 'verbs');
  return words === undefined ? VerbSet.unrestricted() : VerbSet.fromWords(words);
}

/** Empty strings and lists are dropped so that a parsed rule serialises back to what cozy would store. */
function nonEmpty<T extends string | readonly string[]>(value: T | undefined): T | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}

/** One named rule of the manifest form; exported for PATCH bodies, which are read rule by rule. */
export function parseManifestRule(title: string, raw: unknown, options: ManifestParseOptions = {}): Rule {
  return inContext(`permission "${title}"`, () => {
    if (!isObject(raw)) throw badScope('a rule must be an object');
    const type = optionalString(raw, 'type');
    if (type === undefined) throw badScope('"type" is missing');
    checkType(type, options.allowMaximal ?? false);
    return makeRule({
      title,
      type,
      verbs: manifestVerbs(raw),
      values: nonEmpty(optionalStrings(raw, 'values')),
      selector: nonEmpty(optionalString(raw, 'selector')),
      description: nonEmpty(optionalString(raw, 'description')),
    });
  });
}

/** The manifest form, keeping the order of the keys as cozy-stack does. */
export function parseManifest(raw: unknown, options: ManifestParseOptions = {}): Rule[] {
  if (!isObject(raw)) throw badScope('permissions must be an object of named rules');
  return Object.entries(raw).map(([title, rule]) => parseManifestRule(title, rule, options));
}

function uniqueKey(key: string, taken: ReadonlySet<string>): string {
  let candidate = key;
  for (let n = 2; taken.has(candidate); n++) candidate = `${key}-${n}`;
  return candidate;
}

/** Untitled rules are named `rule<index>` as cozy's Set.MarshalJSON does; a clashing name gets a suffix. */
export function rulesToManifest(rules: readonly Rule[]): ManifestPermissions {
  const out: ManifestPermissions = {};
  const taken = new Set<string>();
  rules.forEach((rule, index) => {
    const key = uniqueKey(rule.title || `rule${index}`, taken);
    taken.add(key);
    out[key] = ruleToJSON(rule);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Scope form

function nonEmptyPart(part: string, what: string): string {
  if (part === '') throw badScope(`empty ${what}`);
  return part;
}

/** "ALL" alone spells out every verb, as cozy's VerbSplit does; in a list it means the same. */
function scopeVerbs(part: string): VerbSet {
  if (part === ALL_VERBS_WORD) return VerbSet.all();
  return VerbSet.fromWords(nonEmptyPart(part, 'verbs').split(LIST_SEPARATOR));
}

function scopeValues(part: string): string[] {
  const values = nonEmptyPart(part, 'values').split(LIST_SEPARATOR);
  if (values.includes('')) throw badScope('empty value');
  return values;
}

/** One rule of a scope string (cozy's UnmarshalRuleString). */
export function parseScopeRule(text: string): Rule {
  return inContext(`rule "${text}"`, () => {
    const parts = text.split(PART_SEPARATOR);
    if (parts.length > MAX_SCOPE_PARTS) throw badScope(`more than ${MAX_SCOPE_PARTS} parts`);
    const [type, verbs, values, selector] = parts;
    checkType(type, false);
    return makeRule({
      type,
      verbs: verbs === undefined ? VerbSet.unrestricted() : scopeVerbs(verbs),
      values: values === undefined ? undefined : scopeValues(values),
      selector: selector === undefined ? undefined : nonEmptyPart(selector, 'selector'),
    });
  });
}

/**
 * A whole scope string. A scope of exactly `*` is the maximal permission, which cozy-stack grants only to
 * a certified flagship client (web/auth/oauth.go): that check needs the client and stays with the caller.
 */
export function parseScope(scope: string): Rule[] {
  if (scope === '') throw badScope('the scope is empty');
  if (scope === MAXIMAL_TYPE) return [makeRule({ type: MAXIMAL_TYPE })];
  return scope.split(RULE_SEPARATOR).map(parseScopeRule);
}

function scopeSafe(text: string, what: string): string {
  if (/[\s:,]/.test(text)) throw badScope(`${what} "${text}" cannot be written in a scope string`);
  return text;
}

/**
 * One rule in scope form (cozy's Rule.MarshalScopeString). A selector without values restricts nothing,
 * and cozy would print it where the values go, so it is left out rather than turned into a value.
 */
export function ruleToScope(rule: Rule): string {
  const parts = [rule.type];
  const explicitVerbs = rule.verbs.toArray().length > 0;
  if (explicitVerbs || hasValues(rule)) parts.push(rule.verbs.toString());
  if (hasValues(rule)) {
    parts.push((rule.values ?? []).map((v) => scopeSafe(v, 'value')).join(LIST_SEPARATOR));
    if (rule.selector) parts.push(scopeSafe(rule.selector, 'selector'));
  }
  return parts.join(PART_SEPARATOR);
}

export function rulesToScope(rules: readonly Rule[]): string {
  return rules.map(ruleToScope).join(RULE_SEPARATOR);
}
