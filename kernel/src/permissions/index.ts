export { PermissionErrors } from './errors.ts';
export { VERBS, VerbSet, isVerb, verbForMethod, type Verb, type RequestVerb } from './verbs.ts';
export { MAXIMAL_TYPE, isMaximalType, isValidDoctypeName, isWildcardType, trimWildcard, typeCovers } from './doctype.ts';
export { DEFAULT_SELECTOR, makeRule, ruleToJSON, type Rule, type RuleInput, type RuleJSON } from './rule.ts';
export { selectorValues, REFERENCE_SEPARATOR, type PermissionDoc } from './selector.ts';
export {
  parseManifest,
  parseManifestRule,
  parseScope,
  parseScopeRule,
  ruleToScope,
  rulesToManifest,
  rulesToScope,
  type ManifestParseOptions,
  type ManifestPermissions,
} from './parse.ts';
export { PermissionSet } from './permission-set.ts';
