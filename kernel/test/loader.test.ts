import t from 'tap';
import { BootError } from '../src/boot/boot-error.ts';
import { resolveConfig } from '../src/boot/config.ts';
import { loadPlugins } from '../src/boot/load-plugins.ts';
import { makeProject, pluginSource } from './helpers/plugin-fixtures.ts';

async function bootErrorOf(p: Promise<unknown>): Promise<BootError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BootError) return err;
    throw err;
  }
  throw new Error('expected a BootError');
}

t.test('loads the hello plugin from plugins-contrib by its package name', async (t) => {
  const config = resolveConfig({ plugins: { 'cozy-ts-plugin-hello': { greeting: 'Hi' } } }, { file: null, baseDir: process.cwd(), env: {} });
  const loaded = await loadPlugins(config, {});
  t.equal(loaded.plugins.length, 1);
  t.equal(loaded.plugins[0]?.plugin.manifest.id, 'hello');
  t.same(loaded.plugins[0]?.config, { greeting: 'Hi' });
});

t.test('reports every problem of a broken config in one boot error', async (t) => {
  const project = await makeProject([
    { name: 'broken-import', source: 'import "does-not-exist-anywhere";\nexport default {};' },
    { name: 'old-kernel', source: pluginSource({ id: 'old-kernel', name: 'old-kernel', kernel: '^0.3.0' }) },
    { name: 'needs-vfs', source: pluginSource({ id: 'needs-vfs', name: 'needs-vfs', requires: [['vfs', '^1.0.0']] }) },
    { name: 'needs-jobs2', source: pluginSource({ id: 'needs-jobs2', name: 'needs-jobs2', requires: [['jobs', '^2.0.0']] }) },
    { name: 'jobs-a', source: pluginSource({ id: 'jobs-a', name: 'jobs-a', provides: [['jobs', '1.2.0']] }) },
    { name: 'jobs-b', source: pluginSource({ id: 'jobs-b', name: 'jobs-b', provides: [['jobs', '1.3.0']] }) },
    { name: 'not-a-plugin', source: 'export default 42;' },
  ]);
  t.teardown(project.cleanup);
  const config = resolveConfig(
    {
      plugins: {
        'not-installed-plugin': {},
        'broken-import': {},
        'old-kernel': {},
        'needs-vfs': {},
        'needs-jobs2': {},
        'jobs-a': {},
        'jobs-b': {},
        'not-a-plugin': {},
        'cozy-ts-plugin-hello': false,
      },
    },
    { file: null, baseDir: project.dir, env: {} },
  );
  const err = await bootErrorOf(loadPlugins(config, {}));
  const text = err.message;
  t.match(text, /not-installed-plugin: not installed/);
  t.match(text, /broken-import: installed but fails to import/);
  t.match(text, /old-kernel: needs kernel \^0\.3\.0 but this kernel is 1\./);
  t.match(text, /needs-vfs: requires capability "vfs" \^1\.0\.0, which no enabled plugin provides/);
  t.match(text, /needs-jobs2: requires capability "jobs" \^2\.0\.0 but jobs-a provides 1\.2\.0/);
  t.match(text, /jobs-b: capability "jobs" is provided twice \(also by jobs-a\)/);
  t.match(text, /not-a-plugin: installed but is not a cozy-ts plugin/);
  t.equal(err.problems.length, 7, 'one problem per fault, nothing else');
});

t.test('names the config path of an invalid plugin value', async (t) => {
  const config = resolveConfig(
    { plugins: { 'cozy-ts-plugin-hello': { greeting: '', colour: 'red' } } },
    { file: null, baseDir: process.cwd(), env: {} },
  );
  const err = await bootErrorOf(loadPlugins(config, {}));
  t.match(err.message, /plugins\["cozy-ts-plugin-hello"\]\.greeting: must NOT have fewer than 1 characters/);
  t.match(err.message, /plugins\["cozy-ts-plugin-hello"\]\.colour: is not a known setting/);
});

t.test('takes plugin values from COZY_PLUGIN__<ID>__<KEY> over the file', async (t) => {
  const config = resolveConfig({ plugins: { 'cozy-ts-plugin-hello': { greeting: 'Hi' } } }, { file: null, baseDir: process.cwd(), env: {} });
  const loaded = await loadPlugins(config, { COZY_PLUGIN__HELLO__GREETING: 'Bonjour' });
  t.same(loaded.plugins[0]?.config, { greeting: 'Bonjour' });
});

t.test('orders plugins after the providers of what they require, optional ones included', async (t) => {
  const project = await makeProject([
    { name: 'uses-both', source: pluginSource({ id: 'uses-both', name: 'uses-both', requires: [['vfs', '^1.0.0'], ['jobs', '^1.0.0', true]] }) },
    { name: 'jobs', source: pluginSource({ id: 'jobs', name: 'jobs', provides: [['jobs', '1.0.0']], requires: [['vfs', '^1.0.0']] }) },
    { name: 'vfs', source: pluginSource({ id: 'vfs', name: 'vfs', provides: [['vfs', '1.4.0']] }) },
  ]);
  t.teardown(project.cleanup);
  const config = resolveConfig({ plugins: { 'uses-both': {}, jobs: {}, vfs: {} } }, { file: null, baseDir: project.dir, env: {} });
  const loaded = await loadPlugins(config, {});
  t.same(loaded.plugins.map((p) => p.packageName), ['vfs', 'jobs', 'uses-both']);
});

t.test('an optional requirement that nobody provides does not fail the boot', async (t) => {
  const project = await makeProject([
    { name: 'opt', source: pluginSource({ id: 'opt', name: 'opt', requires: [['indexer', '^1.0.0', true]] }) },
  ]);
  t.teardown(project.cleanup);
  const config = resolveConfig({ plugins: { opt: {} } }, { file: null, baseDir: project.dir, env: {} });
  const loaded = await loadPlugins(config, {});
  t.equal(loaded.plugins.length, 1);
});

t.test('reports plugins that require each other in a cycle', async (t) => {
  const project = await makeProject([
    { name: 'a', source: pluginSource({ id: 'a', name: 'a', provides: [['x', '1.0.0']], requires: [['y', '^1.0.0']] }) },
    { name: 'b', source: pluginSource({ id: 'b', name: 'b', provides: [['y', '1.0.0']], requires: [['x', '^1.0.0']] }) },
  ]);
  t.teardown(project.cleanup);
  const config = resolveConfig({ plugins: { a: {}, b: {} } }, { file: null, baseDir: project.dir, env: {} });
  const err = await bootErrorOf(loadPlugins(config, {}));
  t.match(err.message, /a, b: these plugins require each other in a cycle/);
});

t.test('rejects a manifest whose name is not the package name or whose id is not kebab-case', async (t) => {
  const project = await makeProject([{ name: 'liar', source: pluginSource({ id: 'Not_Kebab', name: 'someone-else' }) }]);
  t.teardown(project.cleanup);
  const config = resolveConfig({ plugins: { liar: {} } }, { file: null, baseDir: project.dir, env: {} });
  const err = await bootErrorOf(loadPlugins(config, {}));
  t.match(err.message, /liar: manifest\.id "Not_Kebab" must be kebab-case/);
  t.match(err.message, /liar: manifest\.name "someone-else" does not match the package name/);
});
