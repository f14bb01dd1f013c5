import { isMaximalType, MAXIMAL_TYPE } from './doctype.ts';
import { coversType, coversWholeType, grantsVerb, matchesDoc, matchesId, ruleIncludes } from './match.ts';
import type { ManifestParseOptions, ManifestPermissions } from './parse.ts';
import { parseManifest, parseScope, rulesToManifest, rulesToScope } from './parse.ts';
import type { Rule, RuleInput } from './rule.ts';
import { makeRule } from './rule.ts';
import type { PermissionDoc } from './selector.ts';
import type { RequestVerb } from './verbs.ts';

/**
 * An ordered list of rules, cozy-stack's permission.Set (model/permission/set.go and match.go). A request
 * is allowed when any one rule allows it; rules never subtract.
 *
 * The constructor trusts its rules; input from outside comes through fromManifest / fromScope, which
 * validate them.
 */
export class PermissionSet {
  readonly rules: readonly Rule[];

  constructor(rules: Iterable<Rule | RuleInput>) {
    this.rules = [...rules].map((r) => makeRule({ ...r }));
  }

  static maximal(): PermissionSet {
    return new PermissionSet([{ type: MAXIMAL_TYPE }]);
  }

  static fromManifest(raw: unknown, options: ManifestParseOptions = {}): PermissionSet {
    return new PermissionSet(parseManifest(raw, options));
  }

  static fromScope(scope: string): PermissionSet {
    return new PermissionSet(parseScope(scope));
  }

  private some(predicate: (rule: Rule) => boolean): boolean {
    return this.rules.some(predicate);
  }

  /** Whether `verb` may be applied to `doc` of `doctype`; without a document only whole-type rules answer. */
  allow(verb: RequestVerb, doctype: string, doc?: PermissionDoc): boolean {
    return this.some((r) => grantsVerb(r, verb) && coversType(r, doctype) && matchesDoc(r, doc));
  }

  allowId(verb: RequestVerb, doctype: string, id: string): boolean {
    return this.some((r) => grantsVerb(r, verb) && coversType(r, doctype) && (coversWholeType(r) || matchesId(r, id)));
  }

  /** What collection operations (_find, _all_docs, _changes…) need: a rule with no values on the doctype. */
  allowWholeType(verb: RequestVerb, doctype: string): boolean {
    return this.some((r) => grantsVerb(r, verb) && coversType(r, doctype) && coversWholeType(r));
  }

  isMaximal(): boolean {
    return this.some((r) => isMaximalType(r.type));
  }

  /** Whether everything `rule` grants is already granted here (cozy's RuleInSubset, used by PATCH add). */
  includesRule(rule: Rule): boolean {
    return this.isMaximal() || this.some((parentRule) => ruleIncludes(parentRule, rule));
  }

  /**
   * Whether everything this set grants is granted by `parent` (cozy's IsSubSetOf). A maximal set is never a
   * subset, not even of another maximal set: nobody may mint a new maximal permission.
   */
  isSubsetOf(parent: PermissionSet): boolean {
    if (this.isMaximal()) return false;
    return this.rules.every((rule) => parent.includesRule(rule));
  }

  toManifest(): ManifestPermissions {
    return rulesToManifest(this.rules);
  }

  toScope(): string {
    return rulesToScope(this.rules);
  }

  /** JSON.stringify gives the manifest form, which is how cozy-stack stores and returns a set. */
  toJSON(): ManifestPermissions {
    return this.toManifest();
  }
}
