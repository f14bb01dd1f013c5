import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { BootProblem } from './boot-error.ts';
import type { CozyPlugin } from '../plugin-api.ts';
import { precompiledBuild } from './precompiled.ts';

export interface ResolvedPlugin {
  /** The package name the config names. */
  packageName: string;
  /** Absolute path of the entry file. */
  entry: string;
  plugin: CozyPlugin<Record<string, unknown>>;
}

function isNotInstalled(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string };
  // A missing *dependency* of an installed plugin also raises MODULE_NOT_FOUND: only the plugin's own name counts.
  return (
    (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') &&
    typeof e.message === 'string' &&
    (e.message.includes(`'${name}'`) || e.message.includes(`"${name}"`))
  );
}

function looksLikePlugin(value: unknown): value is CozyPlugin<Record<string, unknown>> {
  const v = value as { manifest?: { id?: unknown } } | null;
  return typeof v === 'object' && v !== null && typeof v.manifest === 'object' && v.manifest !== null;
}

/**
 * Resolves a plugin package from the config file's folder (so plugins installed next to the config are found,
 * as `npm i <name>` there would put them) and imports it. Tells "not installed" from "installed but broken".
 */
export async function resolvePlugin(
  packageName: string,
  baseDir: string,
): Promise<{ ok: ResolvedPlugin } | { problem: BootProblem }> {
  const req = createRequire(`${baseDir}/`);
  let entry: string;
  try {
    entry = req.resolve(packageName);
  } catch (err) {
    if (isNotInstalled(err, packageName)) {
      return { problem: { subject: packageName, message: `not installed (run \`npm install ${packageName}\` in ${baseDir})` } };
    }
    return { problem: { subject: packageName, message: `cannot be resolved: ${(err as Error).message}` } };
  }
  let mod: { default?: unknown };
  try {
    const build = precompiledBuild();
    const url = (build && build.entryUrl(realpathSync(entry))) ?? pathToFileURL(entry).href;
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    return { problem: { subject: packageName, message: `installed but fails to import: ${(err as Error).message}` } };
  }
  if (!looksLikePlugin(mod.default)) {
    return {
      problem: { subject: packageName, message: 'installed but is not a cozy-ts plugin (no default export made with definePlugin)' },
    };
  }
  return { ok: { packageName, entry, plugin: mod.default } };
}
