import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface FixturePackage {
  name: string;
  /** ESM source of the package's index.js. */
  source: string;
}

/**
 * A throw-away project folder with plugin packages in its node_modules, as a user who ran `npm i <plugin>`
 * would have; @cozy-ts/kernel is linked to this repository's so fixtures can import it.
 */
export async function makeProject(packages: FixturePackage[]): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cozy-project-'));
  await mkdir(join(dir, 'node_modules', '@cozy-ts'), { recursive: true });
  await symlink(join(repoRoot, 'kernel'), join(dir, 'node_modules', '@cozy-ts', 'kernel'), 'dir');
  for (const pkg of packages) {
    const pdir = join(dir, 'node_modules', pkg.name);
    await mkdir(pdir, { recursive: true });
    await writeFile(join(pdir, 'package.json'), JSON.stringify({ name: pkg.name, version: '1.0.0', type: 'module', main: 'index.js' }));
    await writeFile(join(pdir, 'index.js'), pkg.source);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface FixtureManifest {
  id: string;
  name: string;
  kernel?: string;
  provides?: Array<[string, string]>;
  requires?: Array<[string, string, boolean?]>;
  prefix?: string;
}

/** Source of a plugin that records its lifecycle calls on globalThis.__cozyTrace. */
export function pluginSource(m: FixtureManifest, body = ''): string {
  const cap = (id: string, version: string) => `{ id: ${JSON.stringify(id)}, version: ${JSON.stringify(version)}, token: Symbol.for('cozy-ts.capability.${id}') }`;
  const provides = (m.provides ?? []).map(([id, v]) => cap(id, v)).join(', ');
  const requires = (m.requires ?? [])
    .map(([id, range, optional]) => `{ capability: ${cap(id, '0.0.0')}, range: ${JSON.stringify(range)}, optional: ${optional ? 'true' : 'false'} }`)
    .join(', ');
  return `
const trace = (globalThis.__cozyTrace ??= []);
export default {
  manifest: { id: ${JSON.stringify(m.id)}, name: ${JSON.stringify(m.name)}, version: '1.0.0', kernel: ${JSON.stringify(m.kernel ?? '^1.0.0')},
    provides: [${provides}], requires: [${requires}], prefix: ${m.prefix ? JSON.stringify(m.prefix) : 'false'} },
  register(ctx) { trace.push('register:${m.id}'); },
  async start(ctx) { trace.push('start:${m.id}'); },
  async stop(ctx) { trace.push('stop:${m.id}'); },
  ${body}
};
`;
}
