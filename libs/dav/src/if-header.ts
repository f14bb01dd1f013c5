import { DavErrors } from './errors.ts';

/** One condition of an `If:` list: a state token (lock token, or any URI) or an entity tag, maybe negated. */
export type IfCondition =
  | { not: boolean; token: string }
  | { not: boolean; etag: string };

/** One parenthesised list; `resource` is the tag (a URL, as sent) for tagged lists, undefined for untagged ones. */
export interface IfList {
  resource?: string;
  conditions: IfCondition[];
}

/**
 * Parses an `If:` header (RFC 4918 §10.4). Either every list is tagged or none is; anything that does not
 * follow the grammar is a 400 rather than a guess, since a misread condition could let a write through a lock.
 */
export function parseIfHeader(header: string): IfList[] {
  const lists: IfList[] = [];
  let i = 0;
  let tag: string | undefined;
  let tagged: boolean | undefined;
  const bad = (why: string) => DavErrors.badIfHeader(`Invalid If header: ${why}`);
  const skipWs = () => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const until = (close: string) => {
    const end = header.indexOf(close, i + 1);
    if (end === -1) throw bad(`missing ${close}`);
    const s = header.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  skipWs();
  if (i >= header.length) throw bad('empty');
  while (i < header.length) {
    const c = header[i];
    if (c === '<') {
      if (tagged === false) throw bad('tagged and untagged lists mixed');
      tagged = true;
      tag = until('>');
      skipWs();
      if (header[i] !== '(') throw bad('a resource tag must be followed by a list');
      continue;
    }
    if (c !== '(') throw bad(`unexpected ${JSON.stringify(c)}`);
    if (tagged === undefined) tagged = false;
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      skipWs();
      if (i >= header.length) throw bad('unclosed list');
      if (header[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (header.slice(i, i + 3).toLowerCase() === 'not') {
        not = true;
        i += 3;
        skipWs();
      }
      if (header[i] === '<') conditions.push({ not, token: until('>').trim() });
      else if (header[i] === '[') conditions.push({ not, etag: until(']').trim() });
      else throw bad('a condition must be a <state-token> or an [entity-tag]');
    }
    if (!conditions.length) throw bad('empty list');
    lists.push({ resource: tagged ? tag : undefined, conditions });
    skipWs();
  }
  return lists;
}

/** What the evaluation needs to know about one resource: its entity tag and the lock tokens that cover it. */
export interface IfResourceState {
  etag?: string;
  lockTokens: readonly string[];
}

/** Weak comparison of entity tags (`W/"x"` matches `"x"`), as If: state matching uses. */
export function etagsMatch(a: string, b: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return strip(a) === strip(b);
}

export interface IfEvaluation {
  /** Whether the header as a whole holds (some list is true). */
  ok: boolean;
  /** Lock tokens named, not negated, in a list that held: the tokens the client has proven to hold. */
  submittedTokens: Set<string>;
}

/**
 * Evaluates parsed lists. `stateOf` gives the state of the request URI (for untagged lists, key undefined)
 * or of a tagged resource (its tag as sent); it returns null when that resource does not exist (then no
 * lock token and no entity tag match).
 */
export async function evaluateIf(
  lists: IfList[],
  stateOf: (resource: string | undefined) => Promise<IfResourceState | null>,
): Promise<IfEvaluation> {
  const submitted = new Set<string>();
  let ok = false;
  const cache = new Map<string | undefined, Promise<IfResourceState | null>>();
  for (const list of lists) {
    let p = cache.get(list.resource);
    if (!p) cache.set(list.resource, (p = stateOf(list.resource)));
    const state = await p;
    const holds = list.conditions.every((c) => {
      const match = 'token' in c
        ? !!state && state.lockTokens.includes(c.token)
        : !!state && state.etag !== undefined && etagsMatch(c.etag, state.etag);
      return c.not ? !match : match;
    });
    if (!holds) continue;
    ok = true;
    for (const c of list.conditions) if ('token' in c && !c.not) submitted.add(c.token);
  }
  return { ok, submittedTokens: submitted };
}
