import type { DependencyContainer } from 'tsyringe';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Capability } from './capabilities/capability.ts';
import type { JsonSchema } from './boot/config-schema.ts';

export interface Requirement {
  capability: Capability<unknown>;
  /** Semver range of the capability's version, e.g. '^1.0.0'. */
  range: string;
  /** An optional requirement orders the plugin after its provider when present, and does not fail the boot when absent. */
  optional?: boolean;
}

export interface PluginManifest {
  /** kebab-case id, e.g. 'vfs-local'. */
  id: string;
  /** npm package name, e.g. '@cozy-ts/plugin-vfs-local'. */
  name: string;
  /** The plugin's own version. */
  version: string;
  /** Range of the kernel API it was built for, e.g. '^1.0.0'. */
  kernel: string;
  provides?: Capability<unknown>[];
  requires?: Requirement[];
  /** Where its routes are mounted; false or absent = no routes. */
  prefix?: `/${string}` | false;
}

export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface PluginHealth {
  status: HealthStatus;
  detail?: string;
}

export interface PluginContext<Config> {
  readonly manifest: PluginManifest;
  /** Defaults merged with the config file's value, validated before register(). */
  readonly config: Readonly<Config>;
  /** A child container owned by this plugin. */
  readonly container: DependencyContainer;
  readonly log: Logger;
  /** Where local data lives: the kernel's `storage` folder, and the config file's folder (relative paths in a plugin's config are meant from there). */
  readonly paths: { readonly storage: string; readonly configDir: string };
  /** A path from the plugin's config, resolved against the config file's folder. */
  resolvePath(path: string): string;
  /** Makes a capability available to the plugins that require it. Only capabilities in `manifest.provides`. */
  provide<T>(cap: Capability<T>, impl: T | (() => T)): void;
  /** A required capability or a kernel service; throws if neither provided nor required. */
  use<T>(cap: Capability<T>): T;
  /** Like use() for an optional requirement: undefined when nobody provides it. */
  tryUse<T>(cap: Capability<T>): T | undefined;
}

export interface RouteOptions<Config> {
  ctx: PluginContext<Config>;
}

export interface CozyPlugin<Config = Record<string, never>> {
  manifest: PluginManifest;
  /** JSON Schema of the plugin's config; validated (after defaults) before any plugin code runs. */
  configSchema?: JsonSchema;
  defaults?: Config;
  /** Wiring only: no I/O. */
  register?(ctx: PluginContext<Config>): void;
  /** Mounted encapsulated under manifest.prefix. */
  routes?: FastifyPluginAsync<RouteOptions<Config>>;
  /** For kernel-wide HTTP hooks a plugin needs outside its prefix (rare: e.g. /.well-known redirects). */
  rootRoutes?: (app: FastifyInstance, opts: RouteOptions<Config>) => Promise<void>;
  /**
   * Routes on the admin API (the CLI's port), behind its admin-passphrase auth, unprefixed (cozy-stack's admin
   * paths such as `/instances/:domain/fsck`). Only for `cozy serve`: an embedded or test kernel has no admin server.
   */
  adminRoutes?: (app: FastifyInstance, opts: RouteOptions<Config>) => Promise<void>;
  /** I/O, in dependency order. */
  start?(ctx: PluginContext<Config>): Promise<void>;
  /** Reverse order, idempotent, bounded in time by the kernel. */
  stop?(ctx: PluginContext<Config>): Promise<void>;
  health?(ctx: PluginContext<Config>): Promise<PluginHealth>;
}

export function definePlugin<Config = Record<string, never>>(plugin: CozyPlugin<Config>): CozyPlugin<Config> {
  return plugin;
}
