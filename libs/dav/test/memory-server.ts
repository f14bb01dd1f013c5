/**
 * A bare fastify server serving a MemoryBackend through the DAV core at `/dav/`, no auth: what the core's own
 * litmus test runs against (and a handy way to poke at the core: `node --import tsx libs/dav/test/memory-server.ts`).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { DavCore, MemoryBackend, MemoryLockStore, mountDav } from '../src/index.ts';

export async function startMemoryServer(port = 0): Promise<{ app: FastifyInstance; url: string; backend: MemoryBackend }> {
  const app = Fastify({ logger: false });
  const backend = new MemoryBackend(64 * 1024 * 1024);
  const core = new DavCore({ locks: new MemoryLockStore() });
  await app.register(async (scope) => {
    mountDav(scope, { path: '/dav', core, resolve: async () => ({ backend, namespace: 'memory' }) });
  });
  await app.listen({ host: '127.0.0.1', port });
  const addr = app.server.address();
  const p = typeof addr === 'object' && addr ? addr.port : port;
  return { app, url: `http://127.0.0.1:${p}/dav/`, backend };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url } = await startMemoryServer(Number(process.env.PORT ?? 0));
  console.log(url);
}
