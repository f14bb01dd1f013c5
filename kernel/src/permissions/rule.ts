import type { Verb } from './verbs.ts';
import { VerbSet } from './verbs.ts';

/** The field a rule's values are compared with when it names no selector. */
export const DEFAULT_SELECTOR = '_id';

/**
 * One permission rule, as cozy-stack's Rule (model/permission/rule.go). `title` is the key the rule has in
 * a manifest-form set; it never appears inside the rule's own JSON.
 */
export interface Rule {
  readonly type: string;
  readonly verbs: VerbSet;
  readonly values?: readonly string[];
  readonly selector?: string;
  readonly description?: string;
  readonly title?: string;
}

/** The JSON of one rule, with cozy-stack's field order and its omit-when-empty behaviour. */
export interface RuleJSON {
  type: string;
  description?: string;
  verbs?: Verb[];
  selector?: string;
  values?: string[];
}

/** What a caller may write to build a rule in code; missing verbs grant every verb, as in cozy. */
export interface RuleInput {
  type: string;
  verbs?: VerbSet | readonly Verb[];
  values?: readonly string[];
  selector?: string;
  description?: string;
  title?: string;
}

export function makeRule(input: RuleInput): Rule {
  const { verbs, ...rest } = input;
  const verbSet = verbs instanceof VerbSet ? verbs : VerbSet.of(...(verbs ?? []));
  return { ...rest, verbs: verbSet };
}

export function hasValues(rule: Rule): boolean {
  return (rule.values?.length ?? 0) > 0;
}

/** An empty selector and `_id` mean the same thing: the values are document ids. */
export function selectorOf(rule: Rule): string {
  return rule.selector || DEFAULT_SELECTOR;
}

/** cozy-stack marshals a rule with `omitempty`: no empty description, verbs, selector or values. */
export function ruleToJSON(rule: Rule): RuleJSON {
  const json: RuleJSON = { type: rule.type };
  if (rule.description) json.description = rule.description;
  const verbs = rule.verbs.toArray();
  if (verbs.length > 0) json.verbs = verbs;
  if (rule.selector) json.selector = rule.selector;
  if (hasValues(rule)) json.values = [...(rule.values ?? [])];
  return json;
}
