import { badScope } from './errors.ts';

/** The HTTP verbs a permission rule can grant, in the order cozy-stack prints them. */
export const VERBS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type Verb = (typeof VERBS)[number];

/** A verb as a request presents it: HEAD is a read, so it is checked as GET. */
export type RequestVerb = Verb | 'HEAD';

/** The word that stands for every verb, in the manifest list and in a scope string. */
export const ALL_VERBS_WORD = 'ALL';

export function isVerb(word: string): word is Verb {
  return (VERBS as readonly string[]).includes(word);
}

/** The verb a request method is checked with; undefined for methods no rule can grant (OPTIONS, TRACE…). */
export function verbForMethod(method: string): Verb | undefined {
  const upper = method.toUpperCase();
  if (upper === 'HEAD') return 'GET';
  return isVerb(upper) ? upper : undefined;
}

/**
 * A set of verbs where the empty set means all of them, as in cozy-stack (model/permission/verbs.go): a rule
 * written without verbs, or with ["ALL"], grants everything. The explicit verbs are kept as written so the
 * JSON form round-trips unchanged.
 */
export class VerbSet {
  private readonly verbs: ReadonlySet<Verb>;

  private constructor(verbs: Iterable<Verb>) {
    this.verbs = new Set(verbs);
  }

  /** Every verb, spelled out (what a scope "ALL" gives in cozy-stack). */
  static all(): VerbSet {
    return new VerbSet(VERBS);
  }

  /** No verb listed, which grants every verb (what a manifest ["ALL"] or a missing `verbs` gives). */
  static unrestricted(): VerbSet {
    return new VerbSet([]);
  }

  static of(...verbs: Verb[]): VerbSet {
    return new VerbSet(verbs);
  }

  /** Reads a list of words; "ALL" anywhere wins, any other word must be a known verb. */
  static fromWords(words: readonly string[]): VerbSet {
    const unknown = words.find((w) => w !== ALL_VERBS_WORD && !isVerb(w));
    if (unknown !== undefined) throw badScope(`unknown verb "${unknown}"`);
    if (words.includes(ALL_VERBS_WORD)) return VerbSet.unrestricted();
    return new VerbSet(words.filter(isVerb));
  }

  has(verb: RequestVerb): boolean {
    if (this.verbs.size === 0) return true;
    return this.verbs.has(verb === 'HEAD' ? 'GET' : verb);
  }

  isAll(): boolean {
    return this.verbs.size === 0 || VERBS.every((v) => this.verbs.has(v));
  }

  /**
   * Whether every verb `other` grants is granted here. Unlike cozy-stack's ContainsAll, an unrestricted
   * `other` counts as all five verbs: cozy iterates over the (empty) set and would let ["ALL"] pass as a
   * subset of ["GET"].
   */
  containsAll(other: VerbSet): boolean {
    if (this.isAll()) return true;
    if (other.isAll()) return false;
    return [...other.verbs].every((v) => this.verbs.has(v));
  }

  isReadOnly(): boolean {
    return this.verbs.size === 1 && this.verbs.has('GET');
  }

  /** The explicit verbs in cozy's order; empty when unrestricted. */
  toArray(): Verb[] {
    return VERBS.filter((v) => this.verbs.has(v));
  }

  /** The scope-string spelling: "ALL" or "GET,POST". */
  toString(): string {
    return this.isAll() ? ALL_VERBS_WORD : this.toArray().join(',');
  }
}
