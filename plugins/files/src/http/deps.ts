import type { FastifyReply } from 'fastify';
import { JSONAPI_CONTENT_TYPE, type Cache, type InstanceRef, type JsonApiResource, type RegularFileDoc } from '@cozy-ts/kernel';
import type { FilesConfig } from '../config.ts';
import type { VfsService } from '../vfs/vfs-service.ts';
import type { FilesAccess } from './access.ts';
import type { FileLinks } from './serialize.ts';

/** What every route file gets. */
export interface RouteDeps {
  svc: VfsService;
  access: FilesAccess;
  cache: Cache;
  config: FilesConfig;
  /** Extra links of a file (thumbnails), when something provides them. */
  fileLinks(inst: InstanceRef, doc: RegularFileDoc): Promise<FileLinks | undefined>;
}

export interface JsonApiDocument {
  data: JsonApiResource | JsonApiResource[];
  included?: JsonApiResource[];
  links?: Record<string, string>;
  meta?: Record<string, unknown>;
}

export function sendJsonApi(reply: FastifyReply, status: number, body: JsonApiDocument): FastifyReply {
  return reply.status(status).type(JSONAPI_CONTENT_TYPE).send(JSON.stringify(body));
}
