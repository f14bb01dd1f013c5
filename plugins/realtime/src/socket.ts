/**
 * Binds a `ws` socket to a session: inbound messages, heartbeat, outbound backpressure, end of life. The only
 * file of the plugin that knows the websocket library.
 */
import type { RawData, WebSocket } from 'ws';
import type { Peer } from './session.ts';

export interface SocketSession {
  receive(text: string): void;
  dispose(): void;
}

export interface HeartbeatOptions {
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

/**
 * A client that stops reading would make the server buffer every event for it; past this it is dropped.
 * 4 MiB is thousands of ordinary events, far more than a live client ever lags behind.
 */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function bindSocket(socket: WebSocket, makeSession: (peer: Peer) => SocketSession, heartbeat: HeartbeatOptions): void {
  const peer: Peer = {
    send(frame) {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) socket.terminate();
      else socket.send(frame);
    },
    close(code, reason) {
      socket.close(code, reason);
    },
  };
  const session = makeSession(peer);
  const stopHeartbeat = startHeartbeat(socket, heartbeat);
  // Binary frames are read like text ones, as cozy-stack's ReadJSON does: JSON in them works, anything else is
  // an undecodable message.
  socket.on('message', (data: RawData) => session.receive(toText(data)));
  socket.once('close', () => {
    stopHeartbeat();
    session.dispose();
  });
}

/** Pings on a period; a socket whose pong does not come back in time is cut without a closing handshake. */
function startHeartbeat(socket: WebSocket, { pingIntervalMs, pongTimeoutMs }: HeartbeatOptions): () => void {
  let pongDeadline: NodeJS.Timeout | undefined;
  const interval = setInterval(() => {
    if (pongDeadline) return;
    socket.ping();
    pongDeadline = setTimeout(() => socket.terminate(), pongTimeoutMs);
  }, pingIntervalMs);
  socket.on('pong', () => {
    clearTimeout(pongDeadline);
    pongDeadline = undefined;
  });
  return () => {
    clearInterval(interval);
    clearTimeout(pongDeadline);
  };
}

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
