import { Ajv, type ErrorObject } from 'ajv';

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

// One ajv for the process: schemas are compiled once per plugin at boot, never on a hot path.
const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });

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
  const validate = ajv.compile(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => ({ path: pointerToPath(basePath, e), message: describe(e) }));
}
