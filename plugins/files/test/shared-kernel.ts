import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import type { FilesService, InstanceDoc } from '@cozy-ts/kernel';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';

/**
 * One kernel for a whole test file (its boot is the costly part), started on first use and closed when the file
 * ends; each test then takes an instance of its own with {@link freshInstance}.
 */
export function kernelPerFile(plugins: Record<string, Record<string, unknown>>): () => Promise<TestKernel> {
  let shared: Promise<TestKernel> | undefined;
  return () => {
    shared ??= startTestKernel({ config: { plugins } }).then((tk) => {
      t.teardown(() => tk.close());
      return tk;
    });
    return shared;
  };
}

let instances = 0;

export function freshInstance(tk: TestKernel): Promise<InstanceDoc> {
  return tk.createInstance(`alice${++instances}.example`);
}

/**
 * A bare fastify app serving the routes `register` mounts under /files for `inst`, with JSON:API bodies parsed:
 * a folder's routes tested whatever the plugin's wiring. Closed at the test's end.
 */
export async function filesRoutesApp(t: Test, inst: InstanceDoc, register: (app: FastifyInstance) => void | Promise<void>): Promise<FastifyInstance> {
  const app = Fastify();
  app.addHook('onRequest', async (req) => {
    req.instance = inst;
  });
  app.addContentTypeParser('application/vnd.api+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  await app.register(async (scoped) => {
    await register(scoped);
  }, { prefix: '/files' });
  t.teardown(() => app.close());
  return app;
}

/** Files and directories made through the VFS service; each returns the new entry's id. */
export function treeWriters(files: FilesService, inst: InstanceDoc): {
  put(dirId: string, name: string, content?: Buffer | string): Promise<string>;
  mkdir(dirId: string, name: string): Promise<string>;
} {
  return {
    put: async (dirId, name, content = name) => (await files.createFile(inst, { dirId, name }, Readable.from([Buffer.from(content)])))._id,
    mkdir: async (dirId, name) => (await files.createDir(inst, { dirId, name }))._id,
  };
}
