import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { defineError } from '../errors.ts';

/**
 * The deepest JSON body any route takes. JSON.parse copes with any depth, but what runs after it on a route
 * (JSON.stringify of a reply or an event, a selector walk, PouchDB's serialisers) is recursive and overflows the
 * stack around ten thousand levels: a 500 for a body that fits in a few kilobytes. No Cozy document comes near this.
 */
export const MAX_JSON_DEPTH = 256;

const jsonTooDeep = defineError('COZY_ERR_JSON_TOO_DEEP', 400, 'The JSON body is nested too deeply');

function tooDeep() {
  const reason = `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`;
  return jsonTooDeep(reason, { couch: { error: 'bad_request', reason } });
}

/** Only what a JSON parser makes: a Buffer or a stream (DAV, uploads) is not walked. */
function isParsedJson(body: unknown): body is object {
  if (typeof body !== 'object' || body === null) return false;
  if (Array.isArray(body)) return true;
  const proto = Object.getPrototypeOf(body) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Iterative on purpose: a recursive walk would itself be what a deep body crashes. */
export function exceedsDepth(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  if (!isParsedJson(value)) return false;
  const pending: Array<{ value: object; depth: number }> = [{ value, depth: 1 }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    if (item.depth > maxDepth) return true;
    for (const child of Object.values(item.value)) {
      if (typeof child === 'object' && child !== null) pending.push({ value: child, depth: item.depth + 1 });
    }
  }
  return false;
}

/** A preValidation hook for every route, whatever parser (the kernel's or a plugin's) made the body. */
export function jsonDepthGuard(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  // A callback hook: no promise on every GET.
  if (exceedsDepth(req.body)) return done(tooDeep());
  done();
}
