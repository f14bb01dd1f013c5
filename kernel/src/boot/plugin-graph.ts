import semver from 'semver';
import type { Capability } from '../capabilities/capability.ts';
import type { CozyPlugin, PluginManifest } from '../plugin-api.ts';
import type { BootProblem } from './boot-error.ts';

export interface GraphNode {
  packageName: string;
  plugin: CozyPlugin<Record<string, unknown>>;
}

export interface PluginGraph {
  /** Start order: every plugin after the providers of what it requires. */
  ordered: GraphNode[];
  /** capability id → provider (a package name, or 'kernel'). */
  providers: Map<string, { provider: string; capability: Capability<unknown> }>;
  problems: BootProblem[];
}

const ID_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

function checkManifest(node: GraphNode, kernelVersion: string): string[] {
  const m = node.plugin.manifest as Partial<PluginManifest>;
  const out: string[] = [];
  if (typeof m.id !== 'string' || !ID_RE.test(m.id)) out.push(`manifest.id ${JSON.stringify(m.id)} must be kebab-case`);
  if (m.name !== node.packageName) out.push(`manifest.name ${JSON.stringify(m.name)} does not match the package name`);
  if (typeof m.version !== 'string' || !semver.valid(m.version)) out.push(`manifest.version ${JSON.stringify(m.version)} is not a semver version`);
  if (typeof m.kernel !== 'string' || !semver.validRange(m.kernel)) {
    out.push(`manifest.kernel ${JSON.stringify(m.kernel)} is not a semver range`);
  } else if (!semver.satisfies(kernelVersion, m.kernel, { includePrerelease: true })) {
    out.push(`needs kernel ${m.kernel} but this kernel is ${kernelVersion}`);
  }
  if (m.prefix !== undefined && m.prefix !== false && (typeof m.prefix !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(m.prefix))) {
    out.push(`manifest.prefix ${JSON.stringify(m.prefix)} must be a path starting with /`);
  }
  for (const r of m.requires ?? []) {
    if (!r?.capability?.id || !semver.validRange(r.range)) out.push(`a requirement is malformed (capability and semver range needed)`);
  }
  for (const c of m.provides ?? []) {
    if (!c?.id || !semver.valid(c.version)) out.push(`a provided capability is malformed (id and semver version needed)`);
  }
  return out;
}

/**
 * Checks every manifest and the capability graph without running plugin code, collecting every problem, and
 * orders plugins so each starts after the providers of what it requires (optional ones included when present).
 */
export function buildPluginGraph(nodes: GraphNode[], kernelVersion: string, kernelCaps: readonly Capability<unknown>[]): PluginGraph {
  const problems: BootProblem[] = [];
  const providers = new Map<string, { provider: string; capability: Capability<unknown> }>();
  for (const cap of kernelCaps) providers.set(cap.id, { provider: 'kernel', capability: cap });

  const valid: GraphNode[] = [];
  const ids = new Map<string, string>();
  for (const node of nodes) {
    const issues = checkManifest(node, kernelVersion);
    for (const message of issues) problems.push({ subject: node.packageName, message });
    if (issues.length > 0) continue;
    const { id } = node.plugin.manifest;
    const clash = ids.get(id);
    if (clash) problems.push({ subject: node.packageName, message: `plugin id "${id}" is also used by ${clash}` });
    ids.set(id, node.packageName);
    valid.push(node);
  }

  for (const node of valid) {
    for (const cap of node.plugin.manifest.provides ?? []) {
      const existing = providers.get(cap.id);
      if (existing) {
        problems.push({
          subject: node.packageName,
          message: `capability "${cap.id}" is provided twice (also by ${existing.provider}); disable one of them`,
        });
      } else {
        providers.set(cap.id, { provider: node.packageName, capability: cap });
      }
    }
  }

  const deps = new Map<GraphNode, Set<string>>();
  for (const node of valid) {
    const before = new Set<string>();
    for (const req of node.plugin.manifest.requires ?? []) {
      const p = providers.get(req.capability.id);
      if (!p) {
        if (!req.optional) {
          problems.push({ subject: node.packageName, message: `requires capability "${req.capability.id}" ${req.range}, which no enabled plugin provides` });
        }
        continue;
      }
      if (!semver.satisfies(p.capability.version, req.range, { includePrerelease: true })) {
        problems.push({
          subject: node.packageName,
          message: `requires capability "${req.capability.id}" ${req.range} but ${p.provider} provides ${p.capability.version}`,
        });
        continue;
      }
      if (p.provider !== 'kernel' && p.provider !== node.packageName) before.add(p.provider);
    }
    deps.set(node, before);
  }

  // Kahn's algorithm, keeping the config file's order among plugins that are free to start.
  const ordered: GraphNode[] = [];
  const done = new Set<string>();
  const pending = [...valid];
  while (pending.length > 0) {
    const i = pending.findIndex((n) => [...(deps.get(n) ?? [])].every((d) => done.has(d)));
    if (i === -1) {
      problems.push({ subject: pending.map((n) => n.packageName).join(', '), message: 'these plugins require each other in a cycle' });
      break;
    }
    const [node] = pending.splice(i, 1) as [GraphNode];
    ordered.push(node);
    done.add(node.packageName);
  }
  return { ordered, providers, problems };
}
