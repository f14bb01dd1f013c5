/**
 * How realtime events cross processes on the cluster pub/sub.
 *
 * One channel per instance: a process subscribes only to the instances it has sockets for, so a write on an
 * instance nobody watches costs one PUBLISH that Redis drops, and a farm's processes do not all parse every
 * event of every tenant (what cozy-stack's single `realtime:events` channel makes each of them do).
 *
 * A message is a small JSON header (doctype and id, what subscriptions filter on), a newline, then the server
 * event frame exactly as sockets receive it: the publisher serialises an event once, and each receiving
 * process parses the header only and sends the frame as is to every matching socket. JSON.stringify never
 * writes a raw newline, so the first one always ends the header.
 */
import type { RealtimeEvent } from '@cozy-ts/kernel';
import { eventFrame } from './protocol.ts';

export function channelOf(domain: string): string {
  return `realtime:${domain}`;
}

export interface WireEvent {
  doctype: string;
  id: string;
  frame: string;
}

export function encodeEvent(event: RealtimeEvent): string {
  return `${JSON.stringify([event.doctype, event.doc._id])}\n${eventFrame(event)}`;
}

/** undefined for a message this version cannot read (another version of the plugin in a rolling upgrade). */
export function decodeEvent(message: string): WireEvent | undefined {
  const nl = message.indexOf('\n');
  if (nl === -1) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(message.slice(0, nl));
  } catch {
    return undefined;
  }
  if (!Array.isArray(header) || typeof header[0] !== 'string' || typeof header[1] !== 'string') return undefined;
  return { doctype: header[0], id: header[1], frame: message.slice(nl + 1) };
}
