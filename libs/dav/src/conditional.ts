/**
 * HTTP conditional requests (RFC 9110 §13) against a resource's current state. The result says what to answer:
 * go on, 304 (safe methods only), or 412.
 */
export interface ConditionalState {
  exists: boolean;
  /** Strong or weak entity tag, quoted (`"abc"`, `W/"abc"`). */
  etag?: string;
  lastModified?: Date;
}

export type ConditionalHeaders = Partial<Record<'if-match' | 'if-none-match' | 'if-modified-since' | 'if-unmodified-since', string | undefined>>;

export type ConditionalOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/** Splits an entity-tag list (`"a", W/"b"`) without being fooled by commas inside quotes. */
export function parseEtagList(value: string): string[] {
  return value.match(/(?:W\/)?"[^"]*"|\*/g) ?? [];
}

const opaque = (t: string) => t.replace(/^W\//, '');
const strongMatch = (a: string, b: string) => !a.startsWith('W/') && !b.startsWith('W/') && a === b;
const weakMatch = (a: string, b: string) => opaque(a) === opaque(b);

/** HTTP dates are second-granular: compare whole seconds so a sub-second mtime is not "newer" than itself. */
function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function parseDate(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}

export function evaluateConditional(headers: ConditionalHeaders, state: ConditionalState, safeMethod: boolean): ConditionalOutcome {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    const tags = parseEtagList(ifMatch);
    const ok = tags.includes('*') ? state.exists : !!state.etag && state.exists && tags.some((t) => strongMatch(t, state.etag as string));
    if (!ok) return 'precondition-failed';
  } else {
    const since = parseDate(headers['if-unmodified-since']);
    if (since && state.exists && state.lastModified && seconds(state.lastModified) > seconds(since)) return 'precondition-failed';
  }
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const tags = parseEtagList(ifNoneMatch);
    const matched = tags.includes('*') ? state.exists : !!state.etag && state.exists && tags.some((t) => weakMatch(t, state.etag as string));
    if (matched) return safeMethod ? 'not-modified' : 'precondition-failed';
  } else if (safeMethod) {
    const since = parseDate(headers['if-modified-since']);
    if (since && state.exists && state.lastModified && seconds(state.lastModified) <= seconds(since)) return 'not-modified';
  }
  return 'proceed';
}
