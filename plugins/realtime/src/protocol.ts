/**
 * The io.cozy.websocket protocol as cozy-stack speaks it (web/realtime/realtime.go): what clients send, the
 * events and error events the server sends, and the close codes used when it gives up on a socket.
 */
import type { RealtimeEvent } from '@cozy-ts/kernel';

export const SUBPROTOCOL = 'io.cozy.websocket';

/** cozy-stack's maxMessageSize: the read limit of every inbound message, beyond which the socket closes with 1009. */
export const MAX_MESSAGE_BYTES = 1024;

export const CloseCode = {
  goingAway: 1001,
  invalidPayload: 1007,
  policyViolation: 1008,
  internalError: 1011,
} as const;

type JsonObject = Record<string, unknown>;

/**
 * A SUBSCRIBE or UNSUBSCRIBE as cozy-stack decodes it into its `command` struct: absent or non-string fields
 * become empty strings, and error events echo it in that shape as their `source`.
 */
export interface Command {
  method: string;
  payload: { type: string; id: string };
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringOr = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The message as a JSON object, or undefined when it is not one (invalid JSON, an array, a number...). */
export function parseMessage(text: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function methodOf(message: JsonObject | undefined): string {
  return stringOr(message?.method);
}

/** The token of an AUTH message (`payload` is the token itself, not an object); '' when missing. */
export function tokenOf(message: JsonObject): string {
  return stringOr(message.payload);
}

export function toCommand(message: JsonObject): Command {
  const payload = isObject(message.payload) ? message.payload : {};
  return { method: methodOf(message), payload: { type: stringOr(payload.type), id: stringOr(payload.id) } };
}

/** A server event for subscribers, serialised once and sent as is to every matching socket. */
export function eventFrame(event: RealtimeEvent): string {
  const payload = { type: event.doctype, id: event.doc._id, doc: event.doc, ...(event.old ? { old: event.old } : {}) };
  return JSON.stringify({ event: event.verb, payload });
}

function errorFrame(status: string, code: string, title: string, source: unknown): string {
  return JSON.stringify({ event: 'error', payload: { status, code, title, source } });
}

/** cozy-stack's error events, word for word, then the ones cozy-ts adds in the same shape. */
export const ErrorEvents = {
  unauthorized: (source: unknown) => errorFrame('401 Unauthorized', 'unauthorized', 'The authentication has failed', source),
  forbidden: (cmd: Command) => errorFrame('403 Forbidden', 'forbidden', `The application can't subscribe to ${cmd.payload.type}`, cmd),
  unknownMethod: (method: string, source: unknown) =>
    errorFrame('405 Method Not Allowed', 'method not allowed', `The ${method} method is not supported`, source),
  missingType: (cmd: Command) => errorFrame('404 Page Not Found', 'page not found', 'The type parameter is mandatory for SUBSCRIBE', cmd),

  invalidMessage: () => errorFrame('400 Bad Request', 'bad request', 'The message is not a JSON object', null),
  authTimeout: (ms: number) => errorFrame('408 Request Timeout', 'request timeout', `No AUTH message came within ${ms} ms`, null),
  tooManyMessages: (perSecond: number) =>
    errorFrame('429 Too Many Requests', 'too many requests', `More than ${perSecond} messages per second`, null),
  tooManySubscriptions: (cmd: Command, max: number) =>
    errorFrame('429 Too Many Requests', 'too many requests', `A socket may hold at most ${max} subscriptions`, cmd),
} as const;
