import { KERNEL_CAPABILITIES } from '../capabilities/kernel-services.ts';
import type { CozyPlugin } from '../plugin-api.ts';
import { KERNEL_VERSION } from '../version.ts';
import { BootError, type BootProblem } from './boot-error.ts';
import type { ResolvedConfig } from './config.ts';
import { buildPluginGraph, type PluginGraph } from './plugin-graph.ts';
import { resolvePluginConfig } from './plugin-config.ts';
import { resolvePlugin } from './plugin-resolver.ts';

export interface LoadedPlugin {
  packageName: string;
  plugin: CozyPlugin<Record<string, unknown>>;
  config: Record<string, unknown>;
}

export interface LoadedPlugins {
  plugins: LoadedPlugin[];
  graph: PluginGraph;
}

/**
 * Imports every enabled plugin, checks manifests, capability graph and configs, and throws one BootError naming
 * every problem. No plugin hook has run when this returns: importing a module runs only its top level.
 */
export async function loadPlugins(config: ResolvedConfig, env: Record<string, string | undefined> = process.env): Promise<LoadedPlugins> {
  const problems: BootProblem[] = [];
  const enabled = Object.entries(config.plugins).filter(([, v]) => v !== false);
  const resolved = await Promise.all(enabled.map(([name]) => resolvePlugin(name, config.baseDir)));
  const found: Array<{ packageName: string; plugin: CozyPlugin<Record<string, unknown>>; fileValue: unknown }> = [];
  resolved.forEach((r, i) => {
    if ('problem' in r) problems.push(r.problem);
    else found.push({ packageName: r.ok.packageName, plugin: r.ok.plugin, fileValue: (enabled[i] as [string, unknown])[1] });
  });

  const graph = buildPluginGraph(found, KERNEL_VERSION, KERNEL_CAPABILITIES);
  problems.push(...graph.problems);

  const configs = new Map<string, Record<string, unknown>>();
  for (const f of found) {
    const { config: cfg, problems: cfgProblems } = resolvePluginConfig(f.packageName, f.plugin, f.fileValue, env);
    problems.push(...cfgProblems);
    configs.set(f.packageName, cfg);
  }
  if (problems.length > 0) throw new BootError(problems);
  return {
    graph,
    plugins: graph.ordered.map((n) => ({ packageName: n.packageName, plugin: n.plugin, config: configs.get(n.packageName) ?? {} })),
  };
}
