import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BootError, type BootProblem } from './boot-error.ts';
import { validateConfig, type JsonSchema } from './config-schema.ts';
import { precompiledBuild } from './precompiled.ts';

export interface StoreConfig {
  embedded?: { path: string };
  couchdb?: { url: string; requestTimeoutMs?: number };
}

export interface CozyConfig {
  http?: { host?: string; port?: number; bodyLimit?: number; trustProxy?: boolean };
  admin?: {
    host?: string;
    port?: number;
    /** scrypt hash (`scrypt$N$r$p$salt$hash`) of the admin passphrase; else read from `<storage>/admin-passphrase.hash`. */
    passphraseHash?: string;
  };
  /** Root folder for everything local: the embedded store, vfs-local content, admin credentials. */
  storage?: string;
  store?: StoreConfig;
  redis?: { url: string; keyPrefix?: string };
  log?: { level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /** How long each plugin's stop() may take on shutdown before the kernel moves on. */
  shutdownTimeoutMs?: number;
  /** First start with no instance creates this one so a new user has something to open; false disables. */
  defaultInstance?: string | false;
  /** Each key is an npm package name; an object enables it with that config, false disables it. */
  plugins?: Record<string, Record<string, unknown> | false>;
}

/** A config after defaults and env overrides: every kernel value is set. */
export interface ResolvedConfig {
  file: string | null;
  baseDir: string;
  http: { host: string; port: number; bodyLimit: number; trustProxy: boolean };
  admin: { host: string; port: number; passphraseHash?: string };
  storage: string;
  store: { kind: 'embedded'; path: string } | { kind: 'couchdb'; url: string; requestTimeoutMs: number };
  redis?: { url: string; keyPrefix?: string };
  log: { level: string };
  shutdownTimeoutMs: number;
  defaultInstance: string | false;
  plugins: Record<string, Record<string, unknown> | false>;
}

export function defineConfig(config: CozyConfig): CozyConfig {
  return config;
}

const kernelSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        bodyLimit: { type: 'integer', minimum: 1024 },
        trustProxy: { type: 'boolean' },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        passphraseHash: { type: 'string', pattern: '^scrypt\\$' },
      },
    },
    storage: { type: 'string', minLength: 1 },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        embedded: {
          type: 'object',
          additionalProperties: false,
          required: ['path'],
          properties: { path: { type: 'string', minLength: 1 } },
        },
        couchdb: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          properties: {
            url: { type: 'string', pattern: '^https?://' },
            requestTimeoutMs: { type: 'integer', minimum: 100 },
          },
        },
      },
    },
    redis: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: { url: { type: 'string', pattern: '^rediss?://' }, keyPrefix: { type: 'string' } },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
    shutdownTimeoutMs: { type: 'integer', minimum: 100 },
    defaultInstance: { anyOf: [{ enum: [false] }, { type: 'string', minLength: 1 }] },
    plugins: {
      type: 'object',
      additionalProperties: { anyOf: [{ type: 'object' }, { enum: [false] }] },
    },
  },
};

type Env = Record<string, string | undefined>;

/**
 * Twelve-factor overrides: each kernel value has a COZY_* variable that wins over the file. Plugin values use
 * `COZY_PLUGIN__<PLUGIN_ID>__<KEY>` (see plugin-config.ts), applied once the manifests are known.
 */
function applyEnv(cfg: CozyConfig, env: Env): CozyConfig {
  const out: CozyConfig = structuredClone(cfg);
  const set = <K extends keyof CozyConfig>(key: K, patch: Partial<NonNullable<CozyConfig[K]>>) => {
    out[key] = { ...(out[key] as object), ...patch } as CozyConfig[K];
  };
  if (env.COZY_HTTP_HOST) set('http', { host: env.COZY_HTTP_HOST });
  if (env.COZY_HTTP_PORT) set('http', { port: env.COZY_HTTP_PORT as unknown as number });
  if (env.COZY_BODY_LIMIT) set('http', { bodyLimit: env.COZY_BODY_LIMIT as unknown as number });
  if (env.COZY_TRUST_PROXY) set('http', { trustProxy: env.COZY_TRUST_PROXY as unknown as boolean });
  if (env.COZY_ADMIN_HOST) set('admin', { host: env.COZY_ADMIN_HOST });
  if (env.COZY_ADMIN_PORT) set('admin', { port: env.COZY_ADMIN_PORT as unknown as number });
  if (env.COZY_ADMIN_PASSPHRASE_HASH) set('admin', { passphraseHash: env.COZY_ADMIN_PASSPHRASE_HASH });
  if (env.COZY_STORAGE) out.storage = env.COZY_STORAGE;
  if (env.COZY_COUCHDB_URL) out.store = { couchdb: { url: env.COZY_COUCHDB_URL } };
  else if (env.COZY_EMBEDDED_STORE_PATH) out.store = { embedded: { path: env.COZY_EMBEDDED_STORE_PATH } };
  if (env.COZY_REDIS_URL) out.redis = { ...out.redis, url: env.COZY_REDIS_URL };
  if (env.COZY_LOG_LEVEL) set('log', { level: env.COZY_LOG_LEVEL as 'info' });
  if (env.COZY_SHUTDOWN_TIMEOUT_MS) out.shutdownTimeoutMs = env.COZY_SHUTDOWN_TIMEOUT_MS as unknown as number;
  if (env.COZY_DEFAULT_INSTANCE !== undefined) {
    out.defaultInstance = env.COZY_DEFAULT_INSTANCE === 'false' ? false : env.COZY_DEFAULT_INSTANCE;
  }
  return out;
}

/** Validates a config object, applies env overrides and defaults, and resolves paths against `baseDir`. */
export function resolveConfig(raw: unknown, opts: { file: string | null; baseDir: string; env?: Env }): ResolvedConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BootError([{ subject: 'config', message: 'the config file must export an object (use defineConfig)' }]);
  }
  const cfg = applyEnv(raw as CozyConfig, opts.env ?? process.env);
  const problems = validateConfig(kernelSchema, cfg, '');
  if (cfg.store?.embedded && cfg.store.couchdb) {
    problems.push({ path: 'store', message: 'set either store.embedded or store.couchdb, not both' });
  }
  if (problems.length > 0) {
    throw new BootError(problems.map((p) => ({ subject: p.path, message: p.message })));
  }
  const storage = resolve(opts.baseDir, cfg.storage ?? './storage');
  const http = { host: '127.0.0.1', port: 8080, bodyLimit: 1024 * 1024, trustProxy: false, ...cfg.http };
  const store: ResolvedConfig['store'] = cfg.store?.couchdb
    ? { kind: 'couchdb', url: cfg.store.couchdb.url, requestTimeoutMs: cfg.store.couchdb.requestTimeoutMs ?? 10_000 }
    : { kind: 'embedded', path: resolve(opts.baseDir, cfg.store?.embedded?.path ?? resolve(storage, 'db')) };
  return {
    file: opts.file,
    baseDir: opts.baseDir,
    http,
    admin: { host: '127.0.0.1', port: 6060, ...cfg.admin },
    storage,
    store,
    redis: cfg.redis,
    log: { level: cfg.log?.level ?? 'info' },
    shutdownTimeoutMs: cfg.shutdownTimeoutMs ?? 10_000,
    defaultInstance: cfg.defaultInstance ?? `localhost:${http.port}`,
    plugins: cfg.plugins ?? {},
  };
}

/** Imports a config file (TypeScript through the tsx loader the CLI registers, or JS/JSON) and resolves it. */
export async function loadConfigFile(file: string, env?: Env): Promise<ResolvedConfig> {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new BootError([{ subject: 'config', message: `config file not found: ${path}` }]);
  }
  let mod: { default?: unknown };
  try {
    const build = precompiledBuild();
    mod = (await import(build ? await build.configUrl(path) : pathToFileURL(path).href)) as { default?: unknown };
  } catch (err) {
    const problems: BootProblem[] = [{ subject: 'config', message: `cannot load ${path}: ${(err as Error).message}` }];
    throw new BootError(problems);
  }
  return resolveConfig(mod.default, { file: path, baseDir: dirname(path), env });
}
