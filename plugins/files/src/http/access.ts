import type { FastifyRequest } from 'fastify';
import {
  AuthErrors, FILES_DOCTYPE, instanceOf,
  type AuthService, type FileDoc, type FilesActor, type InstanceRef, type RequestAuth, type RequestVerb,
} from '@cozy-ts/kernel';
import { MAX_DEPTH } from '../vfs/names.ts';
import type { VfsService } from '../vfs/vfs-service.ts';

/** What a request may do on io.cozy.files, and who it is for cozyMetadata. */
export interface Caller {
  inst: InstanceRef;
  auth: RequestAuth;
  actor: FilesActor;
}

/** cozyMetadata's app: the slug of an app or konnector token, the client of an OAuth token. */
export function actorOf(auth: RequestAuth): FilesActor {
  if (auth.kind === 'app' || auth.kind === 'konnector') return { slug: auth.subject };
  if (auth.kind === 'oauth') {
    const client: Record<string, string> = { id: auth.subject };
    const c = auth.client;
    if (typeof c?.client_kind === 'string') client.kind = c.client_kind;
    if (typeof c?.client_name === 'string') client.name = c.client_name;
    return { oauthClient: client };
  }
  return {};
}

/**
 * cozy-stack's AllowVFS (model/vfs/permissions.go): a rule on the whole doctype; or a rule matching the entry
 * itself (id, tags, mime, class, referenced_by...); or a rule matching one of its ancestor directories (by id or
 * by their attributes), so a permission on a folder covers everything under it and nothing above it.
 */
export class FilesAccess {
  constructor(
    private readonly auth: AuthService,
    private readonly svc: VfsService,
  ) {}

  async caller(req: FastifyRequest): Promise<Caller> {
    const auth = await this.auth.authenticate(req);
    return { inst: instanceOf(req), auth, actor: actorOf(auth) };
  }

  /** 403 unless the caller may apply `verb` to `doc` (an existing entry, or the document a creation would write). */
  async allow(req: FastifyRequest, verb: RequestVerb, doc: FileDoc | Record<string, unknown>): Promise<Caller> {
    const caller = await this.caller(req);
    if (!(await this.holds(caller, verb, doc))) throw AuthErrors.forbidden();
    return caller;
  }

  async holds(caller: Caller, verb: RequestVerb, doc: FileDoc | Record<string, unknown>): Promise<boolean> {
    const perms = caller.auth.permissions;
    if (perms.isMaximal() || perms.allowWholeType(verb, FILES_DOCTYPE)) return true;
    if (perms.allow(verb, FILES_DOCTYPE, doc)) return true;
    let dirId = typeof doc.dir_id === 'string' ? doc.dir_id : undefined;
    for (let depth = 0; dirId && depth < MAX_DEPTH; depth++) {
      const parent = await this.svc.index.tryGet(caller.inst, dirId);
      if (!parent) return false;
      // Rules on mime or class never reach ancestors: directories have neither.
      if (perms.allow(verb, FILES_DOCTYPE, parent)) return true;
      dirId = parent.dir_id;
    }
    return false;
  }

  /** 403 unless the caller holds `verb` on every io.cozy.files document. */
  async allowWholeType(req: FastifyRequest, verb: RequestVerb): Promise<Caller> {
    const caller = await this.caller(req);
    if (!caller.auth.permissions.allowWholeType(verb, FILES_DOCTYPE)) throw AuthErrors.forbidden();
    return caller;
  }
}
