import { createRequire } from 'node:module';
import type { Doc } from './types.ts';

/**
 * The last word on which docs a pouchdb-find server's `_find` answers: every doc it returns is checked against the
 * selector.
 *
 * Why: pouchdb-find (the embedded store, and pouchdb-server behind the CouchDB adapter in tests) indexes a doc that
 * lacks an indexed field under `null`, and answers it to an open range such as `{n: {$lt: 4}}`; CouchDB 3 keeps such a
 * doc out of a json index, and its selector never matches a missing field. Checking the docs makes both servers
 * answer as CouchDB does. The matcher is pouchdb-find's own, so it agrees with what that server filters in memory.
 * Dropping a doc only makes an answer shorter, which FindPaginator already treats as "maybe not the end".
 *
 * When the caller asks for `fields`, the server is asked for the fields the selector reads as well, and the docs are
 * cut down to the asked fields here, the way pouchdb-find and CouchDB project them (dotted paths, absent left out).
 */

interface SelectorCore {
  massageSelector(selector: Record<string, unknown>): Record<string, unknown>;
  filterInMemoryFields(rows: Array<{ doc: Doc }>, request: { selector: Record<string, unknown> }, fields: string[]): Array<{ doc: Doc }>;
  parseField(field: string): string[];
  getFieldFromDoc(doc: object, parsed: string[]): unknown;
  setFieldInDoc(doc: object, parsed: string[], value: unknown): void;
}

// pouchdb-find's own matcher, resolved from pouchdb-find so that both judge a doc alike.
// Loaded with the first filter, not at boot (as PouchDB itself: see pouch-adapter.ts).
let loaded: SelectorCore | undefined;
function selectorCore(): SelectorCore {
  return (loaded ??= createRequire(createRequire(import.meta.url).resolve('pouchdb-find'))('pouchdb-selector-core') as SelectorCore);
}

/** The field paths a selector reads (top of each path is enough for projection), operators excluded. */
function selectorFields(selector: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(selector)) {
    for (const item of selector) selectorFields(item, into);
  } else if (selector !== null && typeof selector === 'object') {
    for (const [key, value] of Object.entries(selector)) {
      if (key.startsWith('$')) selectorFields(value, into);
      else into.add(key);
    }
  }
  return into;
}

function project(doc: Doc, fields: string[]): Doc {
  const out = {} as Doc;
  for (const field of fields) {
    const parsed = selectorCore().parseField(field);
    const value = selectorCore().getFieldFromDoc(doc, parsed);
    if (value !== undefined) selectorCore().setFieldInDoc(out, parsed, value);
  }
  return out;
}

/**
 * `{$gt: null}` (cozy-client's "the field exists", on every indexed field) as `{$gte: false}`, its equal in CouchDB's
 * collation (null < false < true < numbers < strings < arrays < objects). pouchdb-find indexes a doc missing the field
 * under null and its exclusive start then compares that doc's missing value and throws (a TypeError on a one-field
 * index); an inclusive start at `false` leaves those docs out of the range instead.
 */
export function serverSelector<T>(selector: T): T {
  if (Array.isArray(selector)) return selector.map(serverSelector) as T;
  if (selector === null || typeof selector !== 'object') return selector;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(selector)) out[key] = serverSelector(value);
  if ('$gt' in out && out.$gt === null && !('$gte' in out)) {
    delete out.$gt;
    out.$gte = false;
  }
  return out as T;
}

export interface FindFilter {
  /** The fields to ask the server for, given those the caller asked for. */
  fields(asked: string[] | undefined): string[] | undefined;
  /** The server's docs that match the selector, cut down to the fields the caller asked for. */
  docs(docs: Doc[], asked: string[] | undefined): Doc[];
}

/** The operators pouchdb-selector-core evaluates; a selector with any other is left to the server alone. */
const KNOWN_OPERATORS = new Set([
  '$and', '$or', '$nor', '$not', '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$exists', '$in', '$nin', '$size', '$mod',
  '$regex', '$elemMatch', '$allMatch', '$type', '$all',
]);

function operatorsKnown(selector: unknown): boolean {
  if (Array.isArray(selector)) return selector.every(operatorsKnown);
  if (selector === null || typeof selector !== 'object') return true;
  return Object.entries(selector).every(([key, value]) => (!key.startsWith('$') || KNOWN_OPERATORS.has(key)) && operatorsKnown(value));
}

/** Undefined when the selector uses an operator the matcher does not know (the server's answer then stands). */
export function findFilter(selector: Record<string, unknown>): FindFilter | undefined {
  if (!operatorsKnown(selector)) return undefined;
  const massaged = selectorCore().massageSelector(structuredClone(selector));
  const checked = Object.keys(massaged);
  const read = [...selectorFields(selector, new Set<string>())];
  // An empty `fields` keeps whatever the server made of it: there is nothing to check the selector against.
  const projecting = (asked: string[] | undefined): asked is string[] => asked !== undefined && asked.length > 0;
  return {
    fields: (asked) => (projecting(asked) ? [...new Set([...asked, ...read])] : asked),
    docs(docs, asked) {
      if (asked !== undefined && asked.length === 0) return docs;
      const kept = selectorCore().filterInMemoryFields(docs.map((doc) => ({ doc })), { selector: massaged }, checked).map((row) => row.doc);
      return projecting(asked) ? kept.map((doc) => project(doc, asked)) : kept;
    },
  };
}
