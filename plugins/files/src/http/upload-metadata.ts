import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthErrors, FILES_DOCTYPE, readResource, type InstanceRef, type PermissionSet } from '@cozy-ts/kernel';
import type { RouteDeps } from './deps.ts';
import { sendJsonApi } from './deps.ts';
import { invalidParameter, param } from './params.ts';

const METADATA_DOCTYPE = 'io.cozy.files.metadata';
/** cozy-stack's MetadataID lives ten minutes. */
const TTL_MS = 10 * 60 * 1000;

function key(inst: InstanceRef, id: string): string {
  return `files:metadata:${inst.prefix}:${id}`;
}

/**
 * `POST /files/upload/metadata`: metadata sent ahead of an upload and named by `MetadataID` on it (cozy-stack's
 * UploadMetadataHandler), kept in the cluster cache so any process can take it.
 */
export function registerUploadMetadataRoutes(app: FastifyInstance, d: RouteDeps): void {
  app.post('/upload/metadata', async (req, reply) => {
    const caller = await d.access.caller(req);
    if (!caller.auth.permissions.isMaximal() && !anyFilesPost(caller.auth.permissions.rules)) throw AuthErrors.forbidden();
    const { attributes } = readResource(req.body);
    const id = randomBytes(4).toString('hex').toUpperCase();
    await d.cache.set(key(caller.inst, id), attributes, TTL_MS);
    return sendJsonApi(reply, 201, { data: { type: METADATA_DOCTYPE, id, attributes } });
  });
}

/** cozy-stack's CanWriteToAnyDirectory: any rule on io.cozy.files granting POST, whatever its values. */
function anyFilesPost(rules: PermissionSet['rules']): boolean {
  return rules.some((r) => {
    const t = r.type.replace(/\.\*$/, '');
    return (t === FILES_DOCTYPE || FILES_DOCTYPE.startsWith(`${t}.`)) && r.verbs.has('POST');
  });
}

/** The metadata an upload names with `MetadataID`, or its `Metadata` JSON parameter; 422 when expired or bad. */
export async function uploadMetadata(d: RouteDeps, inst: InstanceRef, req: FastifyRequest): Promise<Record<string, unknown> | undefined> {
  const id = param(req.query, 'MetadataID');
  if (id !== undefined) {
    const found = await d.cache.get<Record<string, unknown>>(key(inst, id));
    if (!found) throw invalidParameter('MetadataID', 'Invalid or expired MetadataID');
    return found;
  }
  const json = param(req.query, 'Metadata');
  if (json === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw invalidParameter('Metadata', 'Invalid metadata');
}
