import type { LoadedPlugins } from '../boot/load-plugins.ts';

/** Lines showing who provides and requires what, in start order. */
export function describeGraph(loaded: LoadedPlugins): string[] {
  const lines = ['Capabilities:'];
  for (const [id, p] of [...loaded.graph.providers].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${id}@${p.capability.version} <- ${p.provider}`);
  }
  lines.push('Plugins (start order):');
  for (const { packageName, plugin } of loaded.plugins) {
    const m = plugin.manifest;
    const req = (m.requires ?? []).map((r) => `${r.capability.id} ${r.range}${r.optional ? ' (optional)' : ''}`);
    const prov = (m.provides ?? []).map((c) => `${c.id}@${c.version}`);
    lines.push(`  ${m.id} (${packageName}@${m.version}) prefix=${m.prefix || '-'}`);
    lines.push(`    provides: ${prov.join(', ') || '-'}`);
    lines.push(`    requires: ${req.join(', ') || '-'}`);
  }
  return lines;
}
