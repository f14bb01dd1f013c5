import t from 'tap';
import { BootError } from '../src/boot/boot-error.ts';
import { startTestKernel } from '../src/testing/test-kernel.ts';
import { makeProject, pluginSource } from './helpers/plugin-fixtures.ts';

declare global {
  // eslint-disable-next-line no-var
  var __cozyTrace: string[] | undefined;
}

t.beforeEach(() => {
  globalThis.__cozyTrace = [];
});

t.test('registers and starts in dependency order, stops in reverse', async (t) => {
  const project = await makeProject([
    { name: 'consumer', source: pluginSource({ id: 'consumer', name: 'consumer', requires: [['thing', '^1.0.0']] }) },
    { name: 'provider', source: pluginSource({ id: 'provider', name: 'provider', provides: [['thing', '1.0.0']] }) },
  ]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { plugins: { consumer: {}, provider: {} } } });
  await tk.close();
  t.same(globalThis.__cozyTrace, ['register:provider', 'register:consumer', 'start:provider', 'start:consumer', 'stop:consumer', 'stop:provider']);
});

t.test('a provided capability reaches the plugin that requires it', async (t) => {
  const project = await makeProject([
    {
      name: 'provider',
      source: pluginSource(
        { id: 'provider', name: 'provider', provides: [['thing', '1.0.0']] },
        `register(ctx) { ctx.provide(this.manifest.provides[0], { hello: () => 'from provider' }); },`,
      ).replace("register(ctx) { trace.push('register:provider'); },", ''),
    },
    {
      name: 'consumer',
      source: pluginSource(
        { id: 'consumer', name: 'consumer', requires: [['thing', '^1.0.0']] },
        `async start(ctx) { trace.push(ctx.use(this.manifest.requires[0].capability).hello()); },`,
      ).replace("async start(ctx) { trace.push('start:consumer'); },", ''),
    },
  ]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { plugins: { consumer: {}, provider: {} } } });
  await tk.close();
  t.ok(globalThis.__cozyTrace?.includes('from provider'));
});

t.test('a plugin that throws in register fails the boot naming it', async (t) => {
  const project = await makeProject([
    { name: 'bad-register', source: pluginSource({ id: 'bad-register', name: 'bad-register' }).replace("register(ctx) { trace.push('register:bad-register'); },", "register() { throw new Error('wiring exploded'); },") },
  ]);
  t.teardown(project.cleanup);
  const err = await startTestKernel({ baseDir: project.dir, config: { plugins: { 'bad-register': {} } } }).catch((e: unknown) => e);
  t.ok(err instanceof BootError);
  t.match((err as Error).message, /bad-register: register\(\) threw: wiring exploded/);
});

t.test('a plugin that throws in start fails the boot and stops the plugins already started', async (t) => {
  const project = await makeProject([
    { name: 'good', source: pluginSource({ id: 'good', name: 'good' }) },
    { name: 'bad-start', source: pluginSource({ id: 'bad-start', name: 'bad-start' }).replace("async start(ctx) { trace.push('start:bad-start'); },", "async start() { throw new Error('no disk'); },") },
  ]);
  t.teardown(project.cleanup);
  const err = await startTestKernel({ baseDir: project.dir, config: { plugins: { good: {}, 'bad-start': {} } } }).catch((e: unknown) => e);
  t.ok(err instanceof BootError);
  t.match((err as Error).message, /bad-start: start\(\) failed: no disk/);
  t.same(globalThis.__cozyTrace, ['register:good', 'register:bad-start', 'start:good', 'stop:good']);
});

t.test('a plugin whose stop hangs does not hold the shutdown past its bound', async (t) => {
  const project = await makeProject([
    { name: 'first', source: pluginSource({ id: 'first', name: 'first' }) },
    { name: 'hangs', source: pluginSource({ id: 'hangs', name: 'hangs' }).replace("async stop(ctx) { trace.push('stop:hangs'); },", 'stop() { return new Promise(() => {}); },') },
  ]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { shutdownTimeoutMs: 300, plugins: { first: {}, hangs: {} } } });
  const started = Date.now();
  await tk.close();
  const took = Date.now() - started;
  t.ok(took < 3000, `stopped in ${took} ms`);
  t.ok(globalThis.__cozyTrace?.includes('stop:first'), 'the plugins after the hung one were still stopped');
});

t.test('stop can be called twice and stops each plugin once', async (t) => {
  const project = await makeProject([{ name: 'once', source: pluginSource({ id: 'once', name: 'once' }) }]);
  t.teardown(project.cleanup);
  const tk = await startTestKernel({ baseDir: project.dir, config: { plugins: { once: {} } } });
  await Promise.all([tk.kernel.stop(), tk.kernel.stop()]);
  await tk.close();
  t.same(globalThis.__cozyTrace?.filter((e) => e === 'stop:once'), ['stop:once']);
});

t.test('a plugin that uses a capability it did not declare is told so', async (t) => {
  const project = await makeProject([
    { name: 'sneaky', source: pluginSource({ id: 'sneaky', name: 'sneaky' }).replace("register(ctx) { trace.push('register:sneaky'); },", "register(ctx) { ctx.use({ id: 'vfs', version: '1.0.0', token: Symbol.for('cozy-ts.capability.vfs') }); },") },
  ]);
  t.teardown(project.cleanup);
  const err = await startTestKernel({ baseDir: project.dir, config: { plugins: { sneaky: {} } } }).catch((e: unknown) => e);
  t.match((err as Error).message, /sneaky: register\(\) threw: plugin sneaky uses "vfs" without declaring it/);
});
