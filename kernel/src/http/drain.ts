import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../with-timeout.ts';

/** How often a closing server looks for connections that went idle since the close began. */
const SWEEP_MS = 50;

/**
 * Closes a fastify server, letting requests in flight finish for at most `boundMs`.
 *
 * fastify's `forceCloseConnections: 'idle'` closes the keep-alive connections that are idle when the close starts.
 * A connection whose response was still being written then goes idle a moment later and stays open until the
 * client drops it (tens of seconds for undici or Go's client), so the close waited for the whole bound and the
 * process could not exit after it: one response ending just as a test ended held its file for 60 s. So connections
 * that go idle during the drain are closed as they do, and whatever is still open at the bound is destroyed.
 */
export async function closeDraining(app: FastifyInstance, boundMs: number): Promise<void> {
  const server = app.server;
  const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS);
  sweep.unref();
  try {
    await withTimeout(app.close(), boundMs, 'closing the HTTP server');
  } finally {
    clearInterval(sweep);
    // Past the bound, a request still running loses its connection rather than keep the process alive.
    server.closeAllConnections();
  }
}
