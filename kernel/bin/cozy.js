#!/usr/bin/env node
// The `cozy` command. It runs the precompiled build (kernel/bin/build.js: plain JS, no loader thread) when that
// build is fresh and covers the config's plugins, rebuilding it first when a source changed; otherwise, or with
// COZY_TSX=1, it runs the TypeScript sources through tsx's loader, as the tests do.
import 'reflect-metadata';
import { existsSync, realpathSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Node 22.1+ keeps V8's compiled code of every module on disk, which skips most of the parse and compile work of the
// ~1,000 modules a start loads. Node 20 has no such switch and simply compiles them.
module.enableCompileCache?.(fileURLToPath(new URL('../../node_modules/.cache/cozy-ts/v8', import.meta.url)));

const args = process.argv.slice(2);
const debug = process.env.COZY_BUILD_DEBUG === '1' ? (line) => process.stderr.write(`cozy build: ${line}\n`) : () => {};

/** The config file the CLI will read, found the way kernel/src/cli/main.ts finds it. */
function configPath() {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if ((a === '--config' || a === '-c') && i + 1 < args.length) return resolve(args[i + 1]);
    if (a.startsWith('--config=')) return resolve(a.slice('--config='.length));
    if (a.startsWith('-c') && !a.startsWith('--') && a.length > 2) return resolve(a.slice(2)); // as parseArgs reads -cFILE
  }
  if (process.env.COZY_CONFIG) return resolve(process.env.COZY_CONFIG);
  for (const name of ['cozy.config.ts', 'cozy.config.js', 'cozy.config.mjs']) if (existsSync(resolve(name))) return resolve(name);
  return undefined;
}

async function fromBuild() {
  if (process.env.COZY_TSX === '1') return undefined;
  const { freshBuild, compileConfig } = await import('./build.js');
  const build = await freshBuild({ log: debug });
  if (!build) return undefined;
  const hook = {
    entryUrl(entry) {
      const out = build.manifest.entries[entry];
      return out ? pathToFileURL(resolve(build.dir, out)).href : undefined;
    },
    configUrl(file) {
      return file.endsWith('.json') ? Promise.resolve(pathToFileURL(file).href) : compileConfig(build, file);
    },
  };
  // Every plugin the config enables must be in the build: one outside it (a package someone is still writing,
  // TypeScript installed next to the config) would import the kernel's sources, which only tsx can run.
  const file = configPath();
  if (file && existsSync(file)) {
    try {
      const mod = await import(await hook.configUrl(file));
      const req = createRequire(`${dirname(file)}/`);
      for (const [name, value] of Object.entries(mod.default?.plugins ?? {})) {
        if (value === false) continue;
        let entry;
        try {
          entry = realpathSync(req.resolve(name));
        } catch {
          continue; // not installed: the loader reports it the same way on both paths
        }
        if (!hook.entryUrl(entry) && /\.[cm]?tsx?$/.test(entry)) {
          debug(`${name} is not in the build: running from sources`);
          return undefined;
        }
      }
    } catch (err) {
      debug(`config ${file} does not load from the build (${err.message}): running from sources`);
      return undefined;
    }
  }
  globalThis[Symbol.for('cozy-ts.precompiled-build')] = hook;
  debug(`running ${build.dir}`);
  return import(pathToFileURL(resolve(build.dir, build.manifest.cli)).href);
}

async function fromSources() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/cli/main.ts');
}

const { runCli } = (await fromBuild()) ?? (await fromSources());
process.exitCode = await runCli(args);
