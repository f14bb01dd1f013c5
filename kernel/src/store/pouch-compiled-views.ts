/**
 * PouchDB's JavaScript views for the embedded store, with each map and reduce function compiled once instead of once
 * per document.
 *
 * Why: pouchdb-node runs a design document's map function by building a fresh `vm` context for every document it
 * indexes (`evalFunctionInVm`: stringify the doc, `vm.runInNewContext`, parse the emits back). A V8 context costs
 * ~1-1.5 ms of CPU and several hundred KiB until the next GC, so every document written costs that much per JS view
 * the next time the view is read: the VFS's by-parent view alone made each file upload ~1.5 ms slower (measured with
 * `bench/webdav/profile.ts`, createFile ~7-9 ms -> ~5-7 ms), and a burst of uploads piled up contexts in the RSS.
 *
 * What: the same map-reduce engine (`pouchdb-abstract-mapreduce`, the package pouchdb-node inlines, same version, same
 * `mrviews` local documents and view database names, so existing indexes stay valid) with a mapper that compiles each
 * function source once, in a context of its own holding CouchDB's map helpers (`emit`, `sum`, `log`, `isArray`,
 * `toJSON`), and reuses it. `emit` goes to the batch being indexed: the engine calls map functions synchronously within
 * a batch, so the emitter is set right before each call. Built-in reduces are pouchdb-node's (`_sum`, `_count`,
 * `_stats`). Install with `PouchDB.plugin(compiledViews)` after the adapter's other plugins.
 *
 * Compared with pouchdb-node: one context per function source instead of one per document, so a map function could
 * keep state in its globals from one document to the next (CouchDB's couchjs processes allow the same), and documents
 * are passed as objects rather than as JSON copies (as PouchDB's browser build does).
 */
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { BoundedMap } from '../bounded-map.ts';

type Emit = (key: unknown, value?: unknown) => void;
type Fn = (...args: unknown[]) => unknown;

interface MapReduceEngine {
  query(this: unknown, ...args: unknown[]): unknown;
  viewCleanup(this: unknown, ...args: unknown[]): unknown;
}

const require = createRequire(import.meta.url);
type ErrorClass = new (message: string) => Error;
/** Loaded with the first view query, as PouchDB itself is (see pouch-adapter.ts): nothing of it at boot. */
let utils: { BuiltInError: ErrorClass; NotFoundError: ErrorClass } | undefined;
const mapReduceUtils = () => (utils ??= require('pouchdb-mapreduce-utils') as { BuiltInError: ErrorClass; NotFoundError: ErrorClass });

interface DesignDoc {
  _id: string;
  views?: Record<string, { map?: unknown }>;
}

/** CouchDB's `sum`: numbers, or arrays of numbers summed position by position (pouchdb-node's rules). */
function sum(values: unknown[]): number | number[] {
  let result: number | number[] = 0;
  for (const num of values) {
    if (typeof num === 'number') {
      if (typeof result === 'number') result += num;
      else result[0] = (result[0] ?? 0) + num;
    } else if (Array.isArray(num)) {
      if (typeof result === 'number') result = [result];
      for (let j = 0; j < num.length; j++) {
        const n: unknown = num[j];
        if (typeof n !== 'number') throw builtInError('_sum');
        if (result[j] === undefined) result.push(n);
        else result[j] += n;
      }
    } else {
      throw builtInError('_sum');
    }
  }
  return result;
}

function builtInError(name: string): Error {
  return new (mapReduceUtils().BuiltInError)(`builtin ${name} function requires map values to be numbers or number arrays`);
}

const BUILT_IN_REDUCE: Record<string, Fn> = {
  _sum: (_keys, values) => sum(values as unknown[]),
  _count: (_keys, values) => (values as unknown[]).length,
  // pouchdb never rereduces a built-in, so _stats needs no rereduce branch (as in pouchdb-node).
  _stats: (_keys, values) => {
    const nums = values as number[];
    let sumsqr = 0;
    for (const n of nums) sumsqr += n * n;
    return { sum: sum(nums), min: Math.min(...nums), max: Math.max(...nums), count: nums.length, sumsqr };
  },
};

interface Compiled {
  fn: Fn;
  /** Where the function's `emit` goes for the call in progress. */
  slot: { emit?: Emit };
}

/** Design documents are few; a bound keeps a database full of generated ones from growing this without end. */
const compiled = new BoundedMap<string, Compiled>(1000);

function compile(source: string): Compiled {
  let hit = compiled.get(source);
  if (hit) return hit;
  const slot: Compiled['slot'] = {};
  const context = vm.createContext({
    emit: (key: unknown, value?: unknown) => slot.emit?.(key, value),
    sum,
    log: () => undefined,
    isArray: Array.isArray,
    toJSON: JSON.stringify,
  });
  const fn = vm.runInContext(`(${source.trim().replace(/;\s*$/, '')})`, context) as unknown;
  if (typeof fn !== 'function') throw new TypeError('A view function must be a function');
  hit = { fn: fn as Fn, slot };
  compiled.set(source, hit);
  return hit;
}

function mapper(fun: unknown, emit: Emit): Fn {
  // A temporary view's function (`db.query(fn)`), as pouchdb-node takes it.
  if (typeof fun === 'function' && fun.length === 2) return (doc) => (fun as Fn)(doc, emit);
  const { fn, slot } = compile(String(fun));
  return (...args) => {
    slot.emit = emit;
    return fn(...args);
  };
}

function reducer(fun: unknown): Fn {
  const source = String(fun);
  const builtIn = /^_(sum|count|stats)/.exec(source);
  if (builtIn) return BUILT_IN_REDUCE[`_${builtIn[1]}`] as Fn;
  if (source.startsWith('_')) throw new Error(`${source} is not a supported reduce function.`);
  return compile(source).fn;
}

function ddocValidator(ddoc: DesignDoc, viewName: string): void {
  const fun = ddoc.views?.[viewName];
  if (typeof fun?.map !== 'string') {
    throw new (mapReduceUtils().NotFoundError)(`ddoc ${ddoc._id} has no string view named ${viewName}, instead found object of type: ${typeof fun?.map}`);
  }
}

let engine: MapReduceEngine | undefined;
function mapReduce(): MapReduceEngine {
  if (engine) return engine;
  const create = require('pouchdb-abstract-mapreduce') as (
    localDocName: string, mapper: (fun: unknown, emit: Emit) => Fn, reducer: (fun: unknown) => Fn,
    ddocValidator: (ddoc: DesignDoc, viewName: string) => void,
  ) => MapReduceEngine;
  return (engine = create('mrviews', mapper, reducer, ddocValidator));
}

/** A PouchDB plugin replacing `query` and `viewCleanup`: `PouchDB.plugin(compiledViews)`. */
export const compiledViews = {
  query(this: unknown, ...args: unknown[]): unknown {
    return mapReduce().query.apply(this, args);
  },
  viewCleanup(this: unknown, ...args: unknown[]): unknown {
    return mapReduce().viewCleanup.apply(this, args);
  },
};
