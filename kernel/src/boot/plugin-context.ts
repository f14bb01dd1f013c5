import { resolve } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import type { Logger } from 'pino';
import type { Capability } from '../capabilities/capability.ts';
import type { CozyPlugin, PluginContext, PluginManifest } from '../plugin-api.ts';

export interface ContextDeps {
  root: DependencyContainer;
  log: Logger;
  kernelCapabilities: ReadonlySet<string>;
  paths: { storage: string; configDir: string };
}

/** Builds the context a plugin sees: its config, a child container, and capability access checked against its manifest. */
export function createPluginContext(
  plugin: CozyPlugin<Record<string, unknown>>,
  config: Record<string, unknown>,
  deps: ContextDeps,
): PluginContext<Record<string, unknown>> {
  const manifest: PluginManifest = plugin.manifest;
  const provides = new Set((manifest.provides ?? []).map((c) => c.id));
  const requires = new Map((manifest.requires ?? []).map((r) => [r.capability.id, r]));
  const container = deps.root.createChildContainer();
  const log = deps.log.child({ plugin: manifest.id });

  const allowed = (cap: Capability<unknown>) =>
    deps.kernelCapabilities.has(cap.id) || requires.has(cap.id) || provides.has(cap.id);

  const ctx: PluginContext<Record<string, unknown>> = {
    manifest,
    config: Object.freeze(config),
    container,
    log,
    paths: Object.freeze({ ...deps.paths }),
    resolvePath: (p: string) => resolve(deps.paths.configDir, p),
    provide<T>(cap: Capability<T>, impl: T | (() => T)) {
      if (!provides.has(cap.id)) {
        throw new Error(`plugin ${manifest.id} provides "${cap.id}" without declaring it in manifest.provides`);
      }
      if (typeof impl === 'function') {
        // A factory runs once, on first use, so wiring order inside register() does not matter.
        let made: { value: T } | undefined;
        const factory = impl as () => T;
        deps.root.register(cap.token, { useFactory: () => (made ??= { value: factory() }).value });
      } else {
        deps.root.register(cap.token, { useValue: impl });
      }
    },
    use<T>(cap: Capability<T>): T {
      if (!allowed(cap)) {
        throw new Error(`plugin ${manifest.id} uses "${cap.id}" without declaring it in manifest.requires`);
      }
      if (!deps.root.isRegistered(cap.token, true)) {
        throw new Error(`capability "${cap.id}" is not provided (plugin ${manifest.id} should mark it optional and call tryUse)`);
      }
      return deps.root.resolve(cap.token);
    },
    tryUse<T>(cap: Capability<T>): T | undefined {
      if (!allowed(cap)) {
        throw new Error(`plugin ${manifest.id} uses "${cap.id}" without declaring it in manifest.requires`);
      }
      return deps.root.isRegistered(cap.token, true) ? deps.root.resolve(cap.token) : undefined;
    },
  };
  return ctx;
}
