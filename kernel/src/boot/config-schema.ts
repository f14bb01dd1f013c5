import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';

/** A JSON Schema object, as ajv takes it. Kept structural so plugins need no ajv import. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  pattern?: string;
  format?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  description?: string;
  [keyword: string]: unknown;
}

export interface ConfigProblem {
  /** Dotted path from the config file's root, e.g. `plugins["@cozy-ts/plugin-hello"].greeting`. */
  path: string;
  message: string;
}

const require = createRequire(import.meta.url);
const AJV_OPTIONS = { allErrors: true, useDefaults: true, coerceTypes: true, strict: false, code: { source: true } } as const;

/**
 * Compiling a dozen config schemas with ajv cost about half a second of CPU on every start (plus ~150 ms to load
 * ajv itself), for schemas that never change between starts. Each schema's validator is therefore kept as ajv's
 * standalone code in node_modules/.cache/cozy-ts/ajv, keyed by the schema, ajv's version and the options, and
 * required from there on later starts; ajv is loaded only on a miss. Without a writable cache it compiles in memory.
 */
let ajv: Ajv | undefined;
let cacheDir: string | null | undefined;
const compiled = new Map<string, ValidateFunction>();

function ajvCacheDir(): string | null {
  if (cacheDir !== undefined) return cacheDir;
  try {
    const ajvPkg = require.resolve('ajv/package.json');
    const version = (require('ajv/package.json') as { version: string }).version;
    cacheDir = join(dirname(dirname(ajvPkg)), '.cache', 'cozy-ts', 'ajv', version);
  } catch {
    cacheDir = null;
  }
  return cacheDir;
}

function compileWithAjv(schema: JsonSchema): { validate: ValidateFunction; code: string } {
  if (!ajv) {
    const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
    ajv = new AjvClass(AJV_OPTIONS);
  }
  const validate = ajv.compile(schema);
  const standalone = (require('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default;
  return { validate, code: standalone(ajv, validate) };
}

function validatorFor(schema: JsonSchema): ValidateFunction {
  const key = createHash('sha256').update(JSON.stringify({ schema, AJV_OPTIONS })).digest('hex').slice(0, 32);
  const known = compiled.get(key);
  if (known) return known;
  const dir = ajvCacheDir();
  const file = dir === null ? undefined : join(dir, `${key}.cjs`);
  let validate: ValidateFunction | undefined;
  if (file) {
    try {
      validate = require(file) as ValidateFunction;
    } catch {
      validate = undefined;
    }
  }
  if (!validate) {
    const made = compileWithAjv(schema);
    validate = made.validate;
    if (file && dir) {
      try {
        mkdirSync(dir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, made.code);
        renameSync(tmp, file);
      } catch {
        // a read-only install: compile on every start, as before
      }
    }
  }
  compiled.set(key, validate);
  return validate;
}

function pointerToPath(base: string, err: ErrorObject): string {
  const parts = err.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (err.keyword === 'required') parts.push(String((err.params as { missingProperty: string }).missingProperty));
  if (err.keyword === 'additionalProperties') {
    parts.push(String((err.params as { additionalProperty: string }).additionalProperty));
  }
  let path = base;
  for (const p of parts) path += /^[A-Za-z_$][\w$]*$/.test(p) ? (path ? `.${p}` : p) : `[${JSON.stringify(p)}]`;
  return path || '(root)';
}

function describe(err: ErrorObject): string {
  if (err.keyword === 'additionalProperties') return 'is not a known setting';
  if (err.keyword === 'required') return 'is required';
  if (err.keyword === 'enum') return `must be one of ${JSON.stringify((err.params as { allowedValues: unknown[] }).allowedValues)}`;
  return err.message ?? 'is invalid';
}

/**
 * Validates `value` in place (ajv fills defaults and coerces env-var strings) and returns every problem,
 * each named by its path under `basePath`.
 */
export function validateConfig(schema: JsonSchema, value: unknown, basePath: string): ConfigProblem[] {
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => ({ path: pointerToPath(basePath, e), message: describe(e) }));
}
