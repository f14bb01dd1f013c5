import type { CozyPlugin } from '../plugin-api.ts';
import type { BootProblem } from './boot-error.ts';
import { validateConfig, type JsonSchema } from './config-schema.ts';

type Env = Record<string, string | undefined>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

const envKey = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_').toUpperCase();
const loose = (s: string) => s.replace(/[^A-Za-z0-9]/g, '').toUpperCase();

/**
 * Plugin values from the environment: `COZY_PLUGIN__<ID>__<KEY>[__<SUBKEY>...]`, the id with `-` as `_`
 * (COZY_PLUGIN__VFS_LOCAL__ROOT). Keys match the schema's property names case- and separator-insensitively;
 * values that parse as JSON are taken as JSON, else as strings (the schema then coerces them).
 */
export function pluginEnvOverrides(pluginId: string, schema: JsonSchema | undefined, env: Env): Record<string, unknown> {
  const head = `COZY_PLUGIN__${envKey(pluginId)}__`;
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(head) || raw === undefined) continue;
    let node = out;
    let sch: JsonSchema | undefined = schema;
    const parts = name.slice(head.length).split('__');
    parts.forEach((part, i) => {
      const known = Object.keys(sch?.properties ?? {}).find((k) => loose(k) === loose(part));
      const key = known ?? part.toLowerCase();
      sch = sch?.properties?.[key];
      if (i === parts.length - 1) {
        node[key] = parseEnvValue(raw);
      } else {
        node[key] = isPlainObject(node[key]) ? node[key] : {};
        node = node[key] as Record<string, unknown>;
      }
    });
  }
  return out;
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** defaults ← config file value ← environment, then validated against the plugin's schema. */
export function resolvePluginConfig(
  packageName: string,
  plugin: CozyPlugin<Record<string, unknown>>,
  fileValue: unknown,
  env: Env,
): { config: Record<string, unknown>; problems: BootProblem[] } {
  const path = `plugins[${JSON.stringify(packageName)}]`;
  if (!isPlainObject(fileValue)) {
    return { config: {}, problems: [{ subject: path, message: 'must be an object (its config) or false' }] };
  }
  const defaults = structuredClone((plugin.defaults ?? {}) as Record<string, unknown>);
  const config = deepMerge(deepMerge(defaults, fileValue), pluginEnvOverrides(plugin.manifest.id, plugin.configSchema, env));
  const schema = plugin.configSchema;
  if (!schema) return { config, problems: [] };
  const problems = validateConfig(schema, config, path).map((p) => ({ subject: p.path, message: p.message }));
  return { config, problems };
}
