import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AUTH, KernelErrors, instanceOf, isReadableDoctype, isValidDoctypeName, type PluginContext } from '@cozy-ts/kernel';
import type { RealtimeConfig } from './config.ts';
import type { RealtimeHub } from './hub.ts';
import { CloseCode, MAX_MESSAGE_BYTES, SUBPROTOCOL } from './protocol.ts';
import { RealtimeSession } from './session.ts';
import { bindSocket } from './socket.ts';

/** How long sockets get to answer the closing handshake when the server stops, before they are cut. */
const SHUTDOWN_GRACE_MS = 1000;
/** How long an upgrade request's socket may sit idle before it becomes a websocket (ws then clears the timer). */
const UPGRADE_IDLE_MS = 10_000;

/**
 * @fastify/websocket sends every upgrade request through fastify's router; one answered with plain HTTP leaves a
 * raw socket that nothing reads (so a client hanging up goes unnoticed) and Node's HTTP timeouts no longer watch.
 * On /realtime/ (an unknown Host) it is closed once answered; elsewhere (a path without a websocket) this idle
 * timer cuts it. ws disables the timer on the sockets it takes over.
 */
function guardUpgrade(_req: IncomingMessage, socket: Duplex): void {
  (socket as Socket).setTimeout(UPGRADE_IDLE_MS, () => socket.destroy());
}

export interface RealtimeRouteOptions {
  ctx: PluginContext<RealtimeConfig>;
  hub: RealtimeHub;
}

export async function realtimeRoutes(app: FastifyInstance, { ctx, hub }: RealtimeRouteOptions): Promise<void> {
  const auth = ctx.use(AUTH);
  const config = ctx.config;

  await app.register(websocket, {
    options: {
      maxPayload: MAX_MESSAGE_BYTES,
      // As gorilla's Upgrader: our protocol when the client offers it, none otherwise (ws would pick the first offered).
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    },
    // ws closes the socket itself on a protocol error (1009 for a message over the limit, 1007 for bad UTF-8);
    // cutting it here could drop that close frame, so errors are only logged.
    errorHandler: (err, _socket, req) => req.log.debug({ err }, 'realtime socket error'),
    async preClose() {
      app.server.off('upgrade', guardUpgrade);
      const clients = [...app.websocketServer.clients];
      for (const client of clients) client.close(CloseCode.goingAway, 'server shutting down');
      setTimeout(() => clients.forEach((c) => c.terminate()), SHUTDOWN_GRACE_MS).unref();
    },
  });

  app.server.on('upgrade', guardUpgrade);
  // A successful upgrade hijacks the reply, so only upgrade requests answered with plain HTTP get here.
  app.addHook('onResponse', async (req) => {
    if (req.headers.upgrade && /\bupgrade\b/i.test(req.headers.connection ?? '')) req.raw.socket.destroy();
  });

  app.route({
    method: 'GET',
    url: '/',
    // cozy-stack answers a plain GET with its upgrader's 400.
    handler: async () => {
      throw KernelErrors.badRequest('websocket: the client is not using the websocket protocol');
    },
    wsHandler: (socket, req) => {
      const { domain } = instanceOf(req);
      bindSocket(
        socket,
        (peer) =>
          new RealtimeSession(peer, {
            domain,
            hub,
            authenticate: async (token) => (await auth.authenticateToken(req, token)).permissions,
            authTimeoutMs: config.authTimeoutMs,
            maxMessagesPerSecond: config.maxMessagesPerSecond,
            maxSubscriptions: config.maxSubscriptions,
            log: req.log,
          }),
        config,
      );
    },
  });

  app.post('/:doctype/:id', async (req: FastifyRequest<{ Params: { doctype: string; id: string } }>, reply) => {
    const { doctype, id } = req.params;
    if (!isReadableDoctype(doctype)) {
      throw KernelErrors.badRequest(isValidDoctypeName(doctype, false) ? `reserved doctype ${doctype} unreadable` : `${doctype} is not a valid doctype name`);
    }
    const body = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw KernelErrors.badRequest('The body must be a JSON object');
    const doc = { ...(body as Record<string, unknown>), _id: id };
    await auth.allow(req, 'POST', doctype, doc);
    await hub.notify(instanceOf(req), doctype, id, doc);
    return reply.status(204).send();
  });
}
