import { isBoundedRegex } from '@cozy-ts/kernel';
import { collate } from './collate.ts';
import { DataErrors } from './data-errors.ts';
import { isPlainObject } from './doc-body.ts';

/**
 * Mango selectors (docs/mango.md, CouchDB's mango_selector.erl): compiled once into a predicate, which also
 * validates them. `_find` and `_index` compile to validate only (the store runs the query), so an unknown
 * operator is a 400 whichever adapter is behind; the `_selector` filter of `_changes` runs the predicate here,
 * because the store port never sends `filter=_selector` to a server.
 *
 * The operators are those both CouchDB 3 and PouchDB implement. `$keyMapMatch` and `$beginsWith` (CouchDB only)
 * are refused as invalid, so that a query working on one adapter works on the other.
 */
export type Predicate = (value: unknown) => boolean;

const MISSING = Symbol('missing');

const JSON_TYPES = new Set(['null', 'boolean', 'number', 'string', 'array', 'object']);

function badArgument(op: string, arg: unknown): Error {
  return DataErrors.couchBadRequest(`Bad argument for operator ${op}: ${JSON.stringify(arg)}`);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const equal = (a: unknown, b: unknown) => collate(a, b) === 0;

function asList(op: string, arg: unknown): unknown[] {
  if (!Array.isArray(arg)) throw badArgument(op, arg);
  return arg;
}

function asSpec(op: string, arg: unknown): Record<string, unknown> {
  if (!isPlainObject(arg)) throw badArgument(op, arg);
  return arg;
}

/**
 * A client's pattern runs here on the server's one thread (the `_selector` filter of `_changes`). V8 reruns one
 * that backtracks too much on its linear-time engine, which cannot run backreferences or lookarounds: those are
 * refused, as the store refuses them in `_find`, since they could backtrack without bound.
 */
function compileRegex(arg: unknown): RegExp {
  if (typeof arg !== 'string' || !isBoundedRegex(arg)) throw badArgument('$regex', arg);
  try {
    return new RegExp(arg);
  } catch {
    throw badArgument('$regex', arg);
  }
}

function compileMod(arg: unknown): Predicate {
  const [divisor, remainder] = Array.isArray(arg) && arg.length === 2 ? arg : [];
  if (!Number.isInteger(divisor) || divisor === 0 || !Number.isInteger(remainder)) throw badArgument('$mod', arg);
  return (v) => Number.isInteger(v) && (v as number) % (divisor as number) === remainder;
}

/** Operators that test the value the spec is applied to. */
function compileOperator(op: string, arg: unknown): Predicate {
  switch (op) {
    case '$and':
      return all(asList(op, arg).map((s) => compileSpec(asSpec(op, s))));
    case '$or': {
      const ps = asList(op, arg).map((s) => compileSpec(asSpec(op, s)));
      return (v) => ps.some((p) => p(v));
    }
    case '$nor': {
      const ps = asList(op, arg).map((s) => compileSpec(asSpec(op, s)));
      return (v) => !ps.some((p) => p(v));
    }
    case '$not': {
      const p = compileSpec(asSpec(op, arg));
      return (v) => !p(v);
    }
    case '$eq':
      return (v) => equal(v, arg);
    case '$ne':
      return (v) => !equal(v, arg);
    case '$gt':
      return (v) => collate(v, arg) > 0;
    case '$gte':
      return (v) => collate(v, arg) >= 0;
    case '$lt':
      return (v) => collate(v, arg) < 0;
    case '$lte':
      return (v) => collate(v, arg) <= 0;
    case '$exists':
      if (typeof arg !== 'boolean') throw badArgument(op, arg);
      // Only reached for a present value: a missing one is decided where the field is looked up.
      return () => arg;
    case '$type':
      if (typeof arg !== 'string' || !JSON_TYPES.has(arg)) throw badArgument(op, arg);
      return (v) => typeOf(v) === arg;
    case '$in': {
      const args = asList(op, arg);
      const isIn = (v: unknown) => args.some((a) => equal(v, a));
      // CouchDB compares the elements of an array field, not the array itself.
      return (v) => (Array.isArray(v) ? v.some(isIn) : isIn(v));
    }
    case '$nin': {
      const isIn = compileOperator('$in', arg);
      return (v) => !isIn(v);
    }
    case '$all': {
      const args = asList(op, arg);
      return (v) => Array.isArray(v) && args.length > 0 && args.every((a) => v.some((e) => equal(e, a)));
    }
    case '$size':
      if (!Number.isInteger(arg) || (arg as number) < 0) throw badArgument(op, arg);
      return (v) => Array.isArray(v) && v.length === arg;
    case '$mod':
      return compileMod(arg);
    case '$regex': {
      const re = compileRegex(arg);
      return (v) => typeof v === 'string' && re.test(v);
    }
    case '$elemMatch': {
      const p = compileSpec(asSpec(op, arg));
      return (v) => Array.isArray(v) && v.some(p);
    }
    case '$allMatch': {
      const p = compileSpec(asSpec(op, arg));
      return (v) => Array.isArray(v) && v.length > 0 && v.every(p);
    }
    default:
      throw DataErrors.invalidOperator(op);
  }
}

function all(predicates: Predicate[]): Predicate {
  return (v) => predicates.every((p) => p(v));
}

/** `a.b.c` with `\.` for a dot inside a name, as CouchDB splits field names. */
function splitPath(field: string): string[] {
  return field.split(/(?<!\\)\./).map((part) => part.replace(/\\\./g, '.'));
}

function lookup(value: unknown, path: string[]): unknown {
  let current = value;
  for (const part of path) {
    if (!isPlainObject(current) || !Object.hasOwn(current, part)) return MISSING;
    current = current[part];
  }
  return current;
}

function isOperatorSpec(arg: unknown): arg is Record<string, unknown> {
  return isPlainObject(arg) && Object.keys(arg).length > 0;
}

/** True when a missing field satisfies the condition: only `{"$exists": false}` itself does, as in CouchDB. */
function acceptsMissing(arg: unknown): boolean {
  return isPlainObject(arg) && Object.keys(arg).length === 1 && arg.$exists === false;
}

function compileField(field: string, arg: unknown): Predicate {
  const path = splitPath(field);
  const test = isOperatorSpec(arg) ? compileSpec(arg) : (v: unknown) => equal(v, arg);
  const whenMissing = acceptsMissing(arg);
  return (v) => {
    const found = lookup(v, path);
    return found === MISSING ? whenMissing : test(found);
  };
}

/**
 * A spec is a selector (`{"field": cond, "$or": [...]}`) or a set of conditions (`{"$gt": 1}`): the same object
 * may hold both, since `{"a": {"b": 1, "$exists": true}}` nests a field under `a` beside a condition on `a`.
 */
function compileSpec(spec: Record<string, unknown>): Predicate {
  return all(Object.entries(spec).map(([key, arg]) => (key.startsWith('$') ? compileOperator(key, arg) : compileField(key, arg))));
}

/** 400 for an unknown operator or a malformed argument. */
export function compileSelector(selector: unknown): Predicate {
  if (!isPlainObject(selector)) throw DataErrors.couchBadRequest('Selector must be a JSON object');
  return compileSpec(selector);
}
