import type { FastifyInstance } from 'fastify';
import { KernelErrors } from '../errors.ts';

/** A JSON:API resource object as cozy-stack renders them (`meta.rev` carries `_rev`). */
export interface JsonApiResource {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  meta?: { rev?: string; [k: string]: unknown };
  links?: { self?: string; [k: string]: unknown };
  relationships?: Record<string, unknown>;
}

export const JSONAPI_CONTENT_TYPE = 'application/vnd.api+json';

/**
 * Reads JSON:API bodies, sent as such by cozy-client and the desktop client, as JSON in `app`'s scope. Per scope, not
 * on the root: a WebDAV or file upload of that type must stay a stream.
 */
export function acceptJsonApi(app: FastifyInstance): void {
  app.addContentTypeParser(JSONAPI_CONTENT_TYPE, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
}

/** A stored document as a resource: `_id`/`_rev` move to id and meta.rev, everything else is an attribute. */
export function toResource(type: string, doc: Record<string, unknown>, links?: JsonApiResource['links']): JsonApiResource {
  const { _id, _rev, ...attributes } = doc;
  const res: JsonApiResource = { type, id: String(_id), attributes };
  if (typeof _rev === 'string') res.meta = { rev: _rev };
  if (links) res.links = links;
  return res;
}

/** Reads a JSON:API request body `{data: {type?, id?, attributes, meta?}}`; 400 when it is not one. */
export function readResource(body: unknown): { type?: string; id?: string; attributes: Record<string, unknown>; rev?: string } {
  const data = (body as { data?: unknown } | null)?.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw KernelErrors.invalidBody('Expected a JSON:API document: {"data": {"attributes": {...}}}', { source: { pointer: '/data' } });
  }
  const d = data as { type?: unknown; id?: unknown; attributes?: unknown; meta?: { rev?: unknown } };
  if (d.attributes !== undefined && (typeof d.attributes !== 'object' || d.attributes === null || Array.isArray(d.attributes))) {
    throw KernelErrors.invalidBody('data.attributes must be an object', { source: { pointer: '/data/attributes' } });
  }
  return {
    type: typeof d.type === 'string' ? d.type : undefined,
    id: typeof d.id === 'string' ? d.id : undefined,
    attributes: (d.attributes as Record<string, unknown> | undefined) ?? {},
    rev: typeof d.meta?.rev === 'string' ? d.meta.rev : undefined,
  };
}
