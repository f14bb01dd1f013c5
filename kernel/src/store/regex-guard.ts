import { setFlagsFromString } from 'node:v8';
import { StoreErrors } from './store-errors.ts';

let enabled = false;

/**
 * A Mango `$regex` is a pattern a client chooses, and the embedded store (pouchdb-find, and our own filters) runs
 * it on this process's one thread: `^(a+)+$` against a 30-character title backtracks for minutes and stalls every
 * instance of the server. V8 can rerun a regexp that backtracks too much on its linear-time engine; this turns that
 * on for the whole process (regexps compiled afterwards), and makes the `l` flag available so that
 * {@link checkSelectorRegexes} can tell which patterns that engine runs. Idempotent.
 */
export function enableLinearRegexpFallback(): void {
  if (enabled) return;
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  setFlagsFromString('--enable-experimental-regexp-engine');
  enabled = true;
}

/**
 * Whether a client's pattern is safe to run here: with the fallback on, whether V8's linear-time engine runs it
 * (never backreferences; lookarounds depend on the V8 version). Without it (a tool that never booted a kernel),
 * nothing can be told apart and every valid pattern passes.
 */
export function isBoundedRegex(pattern: string): boolean {
  if (!enabled) return true;
  try {
    new RegExp(pattern, 'l');
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses a selector with a `$regex` the linear-time fallback cannot run (backreferences, lookarounds, or not a
 * valid pattern at all): those would still backtrack without bound. Iterative: a selector can be deep.
 */
export function checkSelectorRegexes(selector: unknown): void {
  const pending: unknown[] = [selector];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if (item === null || typeof item !== 'object') continue;
    for (const [key, value] of Object.entries(item)) {
      if (key === '$regex' && typeof value === 'string' && !isBoundedRegex(value)) {
        throw StoreErrors.badRequest(`$regex ${JSON.stringify(value)} is not supported: backreferences and lookarounds are refused, they can backtrack without bound`);
      }
      if (typeof value === 'object') pending.push(value);
    }
  }
}
