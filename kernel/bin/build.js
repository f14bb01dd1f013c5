// The precompiled start path: the kernel and every workspace package bundled by esbuild into plain ESM under
// node_modules/.cache/cozy-ts/, so that `cozy serve` runs without tsx's loader thread (which costs about a second of
// CPU and 30 MiB on every start). A build is used only while it is fresh: its manifest lists every source file it
// was made from with size, mtime and ctime, and any change (or a new workspace package) rebuilds it before it runs.
//
//   node kernel/bin/build.js          builds now (run by `npm ci`/`npm install` through the root `prepare` script)
//
// Third-party packages stay external and are resolved by Node at run time, from the importing file's own folder.
// Each source file keeps its own `import.meta.url`, so paths computed from it (package.json, workers, assets,
// createRequire) point where they did under tsx.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const FORMAT = 2; // bump when the build's shape changes: older builds then count as stale
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const cacheRoot = join(repoRoot, 'node_modules', '.cache', 'cozy-ts');
const currentFile = join(cacheRoot, 'current.json');
const KEEP_OLD_BUILDS_MS = 7 * 24 * 3600 * 1000;
const KEEP_OLD_BUILDS = 20;

/** Workspace packages (folders with a package.json whose "exports" or "main" names a TypeScript entry). */
export function workspacePackages() {
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of root.workspaces ?? []) {
    if (pattern.endsWith('/*')) {
      const parent = join(repoRoot, pattern.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const name of readdirSync(parent).sort()) dirs.push(join(parent, name));
    } else dirs.push(join(repoRoot, pattern));
  }
  const out = [];
  for (const dir of dirs) {
    const pkgFile = join(dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    } catch {
      continue;
    }
    const dot = typeof pkg.exports === 'string' ? pkg.exports : pkg.exports?.['.'] ?? pkg.main;
    const entry = typeof dot === 'string' ? dot : dot?.import ?? dot?.default;
    if (typeof pkg.name !== 'string' || typeof entry !== 'string' || !entry.endsWith('.ts')) continue;
    const file = join(dir, entry);
    if (existsSync(file)) out.push({ name: pkg.name, dir, entry: realpathSync(file), pkgFile });
  }
  return out;
}

function readCurrent() {
  try {
    const cur = JSON.parse(readFileSync(currentFile, 'utf8'));
    if (cur.format !== FORMAT) return undefined;
    const manifest = JSON.parse(readFileSync(join(cacheRoot, cur.dir, 'manifest.json'), 'utf8'));
    return { dir: join(cacheRoot, cur.dir), manifest };
  } catch {
    return undefined;
  }
}

/** Fresh when every input still has its size and mtime and the set of workspace packages is the same. */
function isFresh(manifest) {
  if (manifest.format !== FORMAT) return false;
  for (const [rel, [size, mtime, ctime]] of Object.entries(manifest.inputs)) {
    let st;
    try {
      st = statSync(join(repoRoot, rel));
    } catch {
      return false;
    }
    // ctime too: tools that restore an old mtime (cp -p, touch -d, some unpackers) cannot set it back.
    if (st.size !== size || st.mtimeMs !== mtime || st.ctimeMs !== ctime) return false;
  }
  const now = workspacePackages().map((p) => `${p.name}=${relative(repoRoot, p.entry)}`).sort().join(',');
  return now === manifest.packagesKey;
}

/** esbuild plugin: keep third-party packages external, and give each source file its own import.meta.url. */
function sourcesPlugin(workspaceNames, outDir) {
  const fromOut = createRequire(join(outDir, 'x.js'));
  return {
    name: 'cozy-sources',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('node:') || args.pluginData === 'inner') return undefined;
        const pkgName = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        if (workspaceNames.has(pkgName)) return undefined; // bundled
        // A bare import stays bare when Node finds the same package from the build folder; otherwise (a package
        // nested in one workspace's node_modules) it is imported by absolute path, as from its importer.
        const fromImporter = createRequire(args.importer);
        let here;
        let there;
        try {
          here = realpathSync(fromImporter.resolve(`${pkgName}/package.json`));
        } catch {
          here = undefined;
        }
        try {
          there = realpathSync(fromOut.resolve(`${pkgName}/package.json`));
        } catch {
          there = undefined;
        }
        if (here === undefined || here === there) return { path: args.path, external: true };
        const res = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
        if (res.errors.length > 0) return { errors: res.errors };
        return { path: pathToFileURL(res.path).href, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.')) return undefined;
        const url = JSON.stringify(pathToFileURL(args.path).href);
        const contents = source
          .replace(/\bimport\.meta\.url\b/g, url)
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)));
        return { contents, loader: args.path.endsWith('ts') ? 'ts' : 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

async function runEsbuild(packages, outDir) {
  const esbuild = await import('esbuild');
  const entryPoints = Object.fromEntries(packages.map((p) => [p.name.replace(/^@/, '').replace(/\//g, '+'), p.entry]));
  entryPoints.cli = join(repoRoot, 'kernel/src/cli/main.ts');
  return esbuild.build({
    entryPoints,
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    metafile: true,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'silent',
    tsconfig: join(repoRoot, 'tsconfig.json'),
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [sourcesPlugin(new Set(packages.map((p) => p.name)), outDir)],
  }).then((result) => ({ result, entryPoints }));
}

/** Builds into a new folder and makes it current. Returns the build, or throws with esbuild's messages. */
export async function build({ log = () => {} } = {}) {
  const t0 = performance.now();
  let packages = workspacePackages();
  mkdirSync(cacheRoot, { recursive: true });
  const name = `build-${Date.now().toString(36)}-${process.pid}`;
  const tmp = join(cacheRoot, `${name}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  let out;
  try {
    out = await runEsbuild(packages, tmp);
  } catch (err) {
    // A package someone is in the middle of writing must not cost everybody the fast start: leave out the
    // packages that fail to compile (a config naming one of them then runs from sources).
    const bad = new Set();
    for (const e of err.errors ?? []) {
      const file = e.location?.file ? resolve(repoRoot, e.location.file) : '';
      for (const p of packages) if (file.startsWith(p.dir + sep) && p.name !== '@cozy-ts/kernel') bad.add(p.name);
    }
    if (bad.size === 0) throw err;
    log(`leaving out of the build (they do not compile): ${[...bad].join(', ')}`);
    packages = packages.filter((p) => !bad.has(p.name));
    rmSync(tmp, { recursive: true, force: true });
    out = await runEsbuild(packages, tmp);
  }
  const { result, entryPoints } = out;
  const inputs = {};
  const addInput = (abs) => {
    const st = statSync(abs);
    inputs[relative(repoRoot, abs)] = [st.size, st.mtimeMs, st.ctimeMs];
  };
  for (const rel of Object.keys(result.metafile.inputs)) {
    const abs = resolve(repoRoot, rel);
    if (!abs.includes(`${sep}node_modules${sep}`)) addInput(abs);
  }
  addInput(join(repoRoot, 'package.json'));
  addInput(join(repoRoot, 'tsconfig.json'));
  for (const p of workspacePackages()) addInput(p.pkgFile);
  const entries = {};
  for (const [outFile, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    entries[realpathSync(resolve(repoRoot, meta.entryPoint))] = relative(tmp, resolve(repoRoot, outFile));
  }
  const manifest = {
    format: FORMAT,
    createdAt: new Date().toISOString(),
    inputs,
    packagesKey: workspacePackages().map((p) => `${p.name}=${relative(repoRoot, p.entry)}`).sort().join(','),
    packages: packages.map((p) => p.name),
    entries,
    cli: entries[realpathSync(entryPoints.cli)],
  };
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest));
  renameSync(tmp, join(cacheRoot, name));
  const pointer = join(cacheRoot, `current.${process.pid}.tmp`);
  writeFileSync(pointer, JSON.stringify({ format: FORMAT, dir: name }));
  renameSync(pointer, currentFile); // atomic: a concurrent start sees the old build or the new one, never half
  removeOldBuilds(name);
  log(`built ${packages.length} packages (${Object.keys(inputs).length} files) in ${Math.round(performance.now() - t0)} ms`);
  return { dir: join(cacheRoot, name), manifest };
}

/**
 * Old builds may still be in use by a running server (its lazily imported chunks load from there), so a build goes
 * only once it is a week old or more than KEEP_OLD_BUILDS newer ones exist; unfinished ones after ten minutes.
 */
function removeOldBuilds(keep) {
  const builds = [];
  for (const entry of readdirSync(cacheRoot)) {
    if (!entry.startsWith('build-') || entry === keep) continue;
    const full = join(cacheRoot, entry);
    try {
      const age = Date.now() - statSync(full).mtimeMs;
      if (entry.endsWith('.tmp')) {
        if (age > 600_000) rmSync(full, { recursive: true, force: true });
      } else builds.push({ full, age });
    } catch {
      // another process removed it first
    }
  }
  builds.sort((a, b) => a.age - b.age);
  builds.forEach(({ full, age }, i) => {
    if (age > KEEP_OLD_BUILDS_MS || i >= KEEP_OLD_BUILDS) rmSync(full, { recursive: true, force: true });
  });
}

/**
 * The current build if it is fresh; otherwise builds one. Undefined when building fails (run from sources).
 * COZY_REBUILD=1 rebuilds even a fresh one (what the first start after a source change costs).
 */
export async function freshBuild({ log = () => {} } = {}) {
  const cur = process.env.COZY_REBUILD === '1' ? undefined : readCurrent();
  if (cur && isFresh(cur.manifest)) return cur;
  try {
    return await build({ log });
  } catch (err) {
    log(`precompiled build failed, running from sources: ${err.message ?? err}`);
    return undefined;
  }
}

/**
 * Compiles a TypeScript config file against a build: workspace packages it imports become the build's own entry
 * files (one kernel instance), relative imports are bundled in, other packages stay external. Cached per config
 * path and build, with the size, mtime and ctime of every file bundled in, so a start after the first does not run
 * esbuild and an edit to the config (or to a file it imports) recompiles it.
 */
export async function compileConfig(buildInfo, file) {
  const key = createHash('sha256').update(`${file}\0${buildInfo.dir}`).digest('hex').slice(0, 24);
  const outFile = join(buildInfo.dir, 'configs', `${key}.mjs`);
  const stampFile = join(buildInfo.dir, 'configs', `${key}.json`);
  const stamp = (abs) => {
    const st = statSync(abs);
    return [abs, st.size, st.mtimeMs, st.ctimeMs];
  };
  try {
    const inputs = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (existsSync(outFile) && inputs.every((old) => JSON.stringify(stamp(old[0])) === JSON.stringify(old))) return pathToFileURL(outFile).href;
  } catch {
    // not compiled yet, or an input is gone: compile
  }
  const esbuild = await import('esbuild');
  const byName = new Map(workspacePackages().map((p) => [p.name, p.entry]));
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    tsconfig: join(repoRoot, 'tsconfig.json'),
    plugins: [
      {
        name: 'cozy-config',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.path.startsWith('node:') || args.pluginData === 'inner') return undefined;
            const entry = byName.get(args.path);
            const built = entry && buildInfo.manifest.entries[entry];
            if (built) return { path: pathToFileURL(join(buildInfo.dir, built)).href, external: true };
            if (entry) return { errors: [{ text: `${args.path} is not in the precompiled build` }] };
            const res = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
            if (res.errors.length > 0) return { errors: res.errors };
            return { path: pathToFileURL(res.path).href, external: true };
          });
        },
      },
    ],
  });
  mkdirSync(dirname(outFile), { recursive: true });
  const inputs = Object.keys(result.metafile.inputs)
    .map((rel) => resolve(rel))
    .filter((abs) => existsSync(abs))
    .map(stamp);
  const tmp = `${outFile}.${process.pid}.tmp`;
  writeFileSync(tmp, result.outputFiles[0].contents);
  renameSync(tmp, outFile);
  writeFileSync(`${stampFile}.${process.pid}.tmp`, JSON.stringify(inputs));
  renameSync(`${stampFile}.${process.pid}.tmp`, stampFile);
  return pathToFileURL(outFile).href;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const b = await build({ log: (line) => console.log(`cozy build: ${line}`) });
    const config = join(repoRoot, 'cozy.config.ts');
    if (existsSync(config)) await compileConfig(b, config).catch((err) => console.warn(`cozy build: cozy.config.ts: ${err.message}`));
  } catch (err) {
    // Never fail `npm ci` over it: `cozy` then runs from sources through tsx, only slower to start.
    console.warn(`cozy build: failed, \`cozy\` will run from sources through tsx:\n${err.message ?? err}`);
  }
}
