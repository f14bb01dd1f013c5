import { Agent, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import t from 'tap';
import { closeDraining } from '../src/http/drain.ts';

/** A server whose /slow answer streams `parts` chunks, `everyMs` apart; /stuck never ends its answer. */
async function slowServer(parts: number, everyMs: number) {
  const app = Fastify({ forceCloseConnections: 'idle' });
  app.get('/slow', async (_req, reply) => {
    let sent = 0;
    const body = new Readable({
      read() {
        setTimeout(() => this.push(sent++ < parts ? 'x'.repeat(1024) : null), everyMs);
      },
    });
    return reply.type('text/plain').send(body);
  });
  // One chunk goes out (so the client sees the headers), then nothing, ever.
  app.get('/stuck', async (_req, reply) => {
    let started = false;
    return reply.send(new Readable({
      read() {
        if (!started) this.push('x');
        started = true;
      },
    }));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, port: (app.server.address() as AddressInfo).port };
}

function get(port: number, path: string, agent: Agent): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent }, resolve).on('error', reject).end();
  });
}

function bodyOf(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    res.setEncoding('utf8').on('data', (c: string) => (out += c)).on('end', () => resolve(out)).on('error', reject);
  });
}

t.test('a response that ends during the close frees its keep-alive connection at once', async (t) => {
  const { app, port } = await slowServer(4, 100);
  // Node's agent keeps an idle socket open indefinitely: only the server can close it.
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const res = await get(port, '/slow', agent);
  const started = Date.now();
  const closed = closeDraining(app, 10_000);
  t.equal((await bodyOf(res)).length, 4 * 1024, 'the answer in flight is delivered whole');
  // The server's close completes only once every connection is gone.
  await closed;
  t.ok(Date.now() - started < 3_000, `the close did not wait for the bound (${Date.now() - started} ms)`);
});

t.test('an answer still running at the bound loses its connection, so the process can exit', async (t) => {
  const { app, port } = await slowServer(0, 0);
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const res = await get(port, '/stuck', agent);
  res.on('error', () => undefined).resume();
  const cut = new Promise<void>((resolve) => res.once('close', () => resolve()));
  await t.rejects(closeDraining(app, 300), /did not finish within 300 ms/);
  await cut;
  const left = await new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  t.equal(left, 0, 'no connection is left to keep the process alive');
});
