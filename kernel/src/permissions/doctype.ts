/** The rule type that grants everything (cozy's MaximalSet); only the flagship app should ever hold it. */
export const MAXIMAL_TYPE = '*';

const WILDCARD_SUFFIX = '.*';

/**
 * cozy-stack refuses wildcards on short names: a type needs at least three dots, the one before the star
 * included, so `io.cozy.bank.*` is fine and `io.cozy.*` or `com.bitwarden.*` would reach other apps' data.
 */
const MIN_DOTS_IN_WILDCARD = 3;

/** Lower-case letters, digits, `.` and `_`, as Go's unicode.IsLower / unicode.IsDigit accept them. */
const DOCTYPE_CHARS = /^[\p{Ll}\p{Nd}._]+$/u;

export function isMaximalType(type: string): boolean {
  return type === MAXIMAL_TYPE;
}

export function isWildcardType(type: string): boolean {
  return type.endsWith(WILDCARD_SUFFIX);
}

export function trimWildcard(type: string): string {
  return isWildcardType(type) ? type.slice(0, -WILDCARD_SUFFIX.length) : type;
}

function countDots(text: string): number {
  return text.split('.').length - 1;
}

/**
 * cozy-stack's CheckDoctypeName (model/permission/doctype.go) as a predicate. `*` alone is never a valid
 * name: the maximal permission is not something a manifest or scope rule may spell.
 */
export function isValidDoctypeName(doctype: string, allowWildcard: boolean): boolean {
  let name = doctype;
  if (allowWildcard && isWildcardType(name)) {
    if (countDots(name) < MIN_DOTS_IN_WILDCARD) return false;
    name = trimWildcard(name);
  }
  if (!DOCTYPE_CHARS.test(name)) return false;
  return !name.startsWith('.') && !name.endsWith('.') && !name.includes('..');
}

/**
 * Whether a rule type covers a doctype (cozy's MatchType). A wildcard covers its own stem too:
 * `io.cozy.bank.*` covers `io.cozy.bank`, `io.cozy.bank.accounts` and `io.cozy.bank.accounts.stats`, but
 * not `io.cozy.banks` (the next character must be a dot).
 */
export function typeCovers(ruleType: string, doctype: string): boolean {
  if (ruleType === doctype || isMaximalType(ruleType)) return true;
  if (!isWildcardType(ruleType)) return false;
  const stem = trimWildcard(ruleType);
  return doctype === stem || doctype.startsWith(`${stem}.`);
}
