import { typeCovers } from './doctype.ts';
import type { Rule } from './rule.ts';
import { DEFAULT_SELECTOR, hasValues, selectorOf } from './rule.ts';
import type { PermissionDoc } from './selector.ts';
import { selectorValues } from './selector.ts';
import type { RequestVerb } from './verbs.ts';

/** Rule-level predicates, one per question cozy-stack's model/permission/match.go asks of a rule. */

export function grantsVerb(rule: Rule, verb: RequestVerb): boolean {
  return rule.verbs.has(verb);
}

export function coversType(rule: Rule, doctype: string): boolean {
  return typeCovers(rule.type, doctype);
}

/** A rule without values reaches every document of its type; any value narrows it to some documents. */
export function coversWholeType(rule: Rule): boolean {
  return !hasValues(rule);
}

function valuesInclude(rule: Rule, candidates: readonly string[]): boolean {
  return (rule.values ?? []).some((v) => candidates.includes(v));
}

/** Only an id rule can say yes to a bare id: a rule on another selector needs the document to decide. */
export function matchesId(rule: Rule, id: string): boolean {
  return selectorOf(rule) === DEFAULT_SELECTOR && valuesInclude(rule, [id]);
}

export function matchesDoc(rule: Rule, doc: PermissionDoc | undefined): boolean {
  if (coversWholeType(rule)) return true;
  return valuesInclude(rule, selectorValues(doc, selectorOf(rule)));
}

function valuesWithin(child: Rule, parent: Rule): boolean {
  const allowed = parent.values ?? [];
  return hasValues(child) && (child.values ?? []).every((v) => allowed.includes(v));
}

/**
 * Whether every document `child` grants is granted by `parent` (cozy's Set.RuleInSubset, for one parent
 * rule). Where cozy-stack compares raw fields, this compares meanings: a parent without values covers the
 * whole type whatever its selector, and a child without values is never inside a parent that has some
 * (cozy's ValuesContain is vacuously true for it and would let it widen the grant).
 */
export function ruleIncludes(parent: Rule, child: Rule): boolean {
  if (!coversType(parent, child.type)) return false;
  if (!parent.verbs.containsAll(child.verbs)) return false;
  if (coversWholeType(parent)) return true;
  if (selectorOf(parent) !== selectorOf(child)) return false;
  return valuesWithin(child, parent);
}
