import { AuthErrors } from '../auth/auth-errors.ts';
import { hashSecret } from '../auth/passphrase.ts';
import type { InstanceDoc, InstanceRef } from '../instances/instance.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { NewDoc } from '../store/types.ts';
import { parseBigDuration } from './big-duration.ts';
import { completeMetadata, newMetadata, touchMetadata, type CozyMetadata } from './cozy-metadata.ts';
import { badScope, PermissionErrors } from './errors.ts';
import { PERMISSIONS_DOCTYPE, type PermissionLookup, type PermissionRecord } from './permission-record.ts';
import type { PermissionSet } from './permission-set.ts';
import { PermissionViews } from './permission-views.ts';
import {
  applyRuleChanges, hasRuleChanges, isAbsent, parseExpiresAt, readCodeNames, readPassword, readRuleChanges,
} from './share-attributes.ts';
import { mintShareCodes, TINY_MAX_TTL_MS, type CodesInUse } from './share-codes.ts';
import { ShareErrors } from './share-errors.ts';
import { assertCanCreate, canAddRules, canManage, type PermissionCaller } from './share-policy.ts';
import { VerbSet, VERBS, type Verb } from './verbs.ts';

/** The doctype version cozy-stack writes in the cozyMetadata of permission documents. */
const DOCTYPE_VERSION = '1';

export interface ShareSetInput {
  permissions: PermissionSet;
  /** One code per name (`?codes=bob,jane`). */
  codeNames: readonly string[];
  /** bigduration text (`?ttl=1D`); invalid → 400. */
  ttl?: string;
  /** 6-digit short codes, honoured only with a ttl of at most an hour. */
  tiny?: boolean;
  /** The body's `expires_at` (RFC 3339), used when no ttl is given. */
  expiresAt?: unknown;
  password?: unknown;
  metadata?: unknown;
}

/** The attributes of a PATCH body, unparsed: the service reads them by cozy's rules. */
export interface PermissionPatch {
  permissions?: unknown;
  codes?: unknown;
  password?: unknown;
  expiresAt?: unknown;
  metadata?: unknown;
}

export interface DocRef {
  type: string;
  id: string;
}

export interface SharedRef extends DocRef {
  verbs: Verb[];
}

/** A page of a listing: continue from a document id (cursor) or after a number of rows (skip). */
export interface PageRequest {
  limit: number;
  cursor?: string;
  skip?: number;
}

export interface Page<T> {
  items: T[];
  /** How to ask for the next page; absent on the last one. */
  next?: { cursor: string } | { skip: number };
}

/** Whether an `expires_at` has passed; an unreadable date counts as passed, as in cozy's Permission.Expired. */
function hasExpired(expiresAt: string | null | undefined, now = Date.now()): boolean {
  return !!expiresAt && !(Date.parse(expiresAt) >= now);
}

/** io.cozy.permissions documents: the stored permissions of apps, konnectors and shares by link. */
export class PermissionDocService implements PermissionLookup {
  readonly #views: PermissionViews;
  /** Per-instance queue: codes are checked unused and saved with no other minting in between. */
  readonly #minting = new Map<string, Promise<unknown>>();

  constructor(private readonly store: DocumentStore) {
    this.#views = new PermissionViews(store);
  }

  /** The document, or null; ids starting with "_" are CouchDB's own (design docs, _all_docs) and never one. */
  async get(inst: InstanceRef, id: string): Promise<PermissionRecord | null> {
    if (id === '' || id.startsWith('_')) return null;
    try {
      return (await this.store.get(inst, PERMISSIONS_DOCTYPE, id)) as PermissionRecord;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  forWebapp(inst: InstanceRef, slug: string): Promise<PermissionRecord | null> {
    return this.get(inst, `io.cozy.apps/${slug}`);
  }

  forKonnector(inst: InstanceRef, slug: string): Promise<PermissionRecord | null> {
    return this.get(inst, `io.cozy.konnectors/${slug}`);
  }

  async forShareCode(inst: InstanceRef, token: string): Promise<PermissionRecord | null> {
    const rows = await this.#views.query(inst, 'by-token', { key: token, limit: 1 });
    const id = rows[0]?.id;
    return id ? this.get(inst, id) : null;
  }

  async tokenForShortcode(inst: InstanceRef, shortcode: string): Promise<string | null> {
    const rows = await this.#views.query(inst, 'by-short-code', { key: shortcode, limit: 1 });
    const row = rows[0];
    if (!row?.id) return null;
    const doc = await this.get(inst, row.id);
    return doc?.codes?.[String(row.value)] ?? null;
  }

  ensureDesignDoc(inst: InstanceRef): Promise<void> {
    return this.#views.ensureDesignDoc(inst);
  }

  /** 404 when absent, even expired (PATCH and DELETE work on expired shares, as in cozy-stack). */
  async findIncludingExpired(inst: InstanceRef, id: string): Promise<PermissionRecord> {
    const doc = await this.get(inst, id);
    if (!doc) throw ShareErrors.notFound();
    return doc;
  }

  /** cozy's GetByID: 404 when absent, 400 `Expired token` once expired. */
  async find(inst: InstanceRef, id: string): Promise<PermissionRecord> {
    const doc = await this.findIncludingExpired(inst, id);
    if (hasExpired(doc.expires_at)) throw AuthErrors.expiredToken();
    return doc;
  }

  /** A share by link (cozy's CreateShareSet), attributed to the caller's source. */
  async createShareSet(inst: InstanceDoc, caller: PermissionCaller, input: ShareSetInput): Promise<PermissionRecord> {
    assertCanCreate(caller, input.permissions);
    if (input.permissions.rules.length === 0) throw badScope('a share needs at least one rule');
    const { expiresAt, tiny } = this.#expiry(input);
    const password = readPassword(input.password);
    const doc: NewDoc = {
      type: 'share',
      ...(caller.sourceId ? { source_id: caller.sourceId } : {}),
      permissions: input.permissions.toManifest(),
      ...(expiresAt ? { expires_at: expiresAt } : {}),
      ...(password ? { password: await hashSecret(password) } : {}),
      cozyMetadata: completeMetadata(input.metadata, newMetadata(DOCTYPE_VERSION, caller.slug)),
    };
    const names = [...new Set(input.codeNames.filter((name) => name !== ''))];
    return this.#serialized(inst, async () => {
      if (names.length > 0) Object.assign(doc, await mintShareCodes(inst, names, tiny, this.#codesInUse(inst)));
      const res = await this.store.put(inst, PERMISSIONS_DOCTYPE, doc);
      return { ...doc, _id: res.id, _rev: res.rev } as PermissionRecord;
    });
  }

  /**
   * cozy's patchPermission. Adding rules the caller holds needs no parent, which is how an app grants
   * another app's document some of its own rights; everything else (removing rules, codes, password,
   * expiry) is for whoever may manage the share. Given codes replace the list: a name already there keeps
   * its code, a new name gets a fresh one. Unlike cozy, the values sent are never stored, so a caller
   * cannot plant a JWT of its choosing.
   */
  async patch(inst: InstanceDoc, caller: PermissionCaller, id: string, patch: PermissionPatch): Promise<PermissionRecord> {
    const doc = await this.findIncludingExpired(inst, id);
    const rules = readRuleChanges(patch.permissions);
    const codeNames = readCodeNames(patch.codes);
    const patchSet = hasRuleChanges(rules);
    if (patchSet && codeNames) throw ShareErrors.patchCodeOrSet();
    if (!patchSet && !codeNames && isAbsent(patch.password) && isAbsent(patch.expiresAt)) throw ShareErrors.patchCodeOrSet();
    const needsManager = rules.remove.length > 0 || !!codeNames || !isAbsent(patch.password) || !isAbsent(patch.expiresAt);
    if (needsManager && !canManage(caller, doc)) throw ShareErrors.notParent();
    if (rules.add.length > 0 && !canAddRules(caller)) throw ShareErrors.onlyApps();
    if (!rules.add.every((rule) => caller.permissions.includesRule(rule))) throw PermissionErrors.notSubset();

    const next: PermissionRecord = { ...doc };
    const password = readPassword(patch.password);
    if (password === '') delete next.password;
    else if (password !== undefined) next.password = await hashSecret(password);
    if (patch.expiresAt === '') delete next.expires_at;
    else if (!isAbsent(patch.expiresAt)) next.expires_at = parseExpiresAt(patch.expiresAt);
    if (patchSet) next.permissions = applyRuleChanges(doc.permissions, rules);
    next.cozyMetadata = isAbsent(patch.metadata)
      ? doc.cozyMetadata && touchMetadata(doc.cozyMetadata as CozyMetadata, caller.slug)
      : completeMetadata(patch.metadata, (doc.cozyMetadata as CozyMetadata | undefined) ?? newMetadata(DOCTYPE_VERSION, caller.slug));
    if (next.cozyMetadata === undefined) delete next.cozyMetadata;

    return this.#serialized(inst, async () => {
      if (codeNames) Object.assign(next, await this.#replaceCodes(inst, doc, codeNames));
      const res = await this.store.put(inst, PERMISSIONS_DOCTYPE, next, { old: doc });
      return { ...next, _rev: res.rev };
    });
  }

  /** Deletes a share, and with it every code that opened it. */
  async revoke(inst: InstanceRef, caller: PermissionCaller, id: string): Promise<void> {
    const doc = await this.findIncludingExpired(inst, id);
    if (!canManage(caller, doc)) throw ShareErrors.notParent();
    await this.store.delete(inst, PERMISSIONS_DOCTYPE, doc._id, doc._rev as string, { old: doc });
  }

  /**
   * For each document, the verbs live shares by link grant on it by id (cozy's GetPermissionsForIDs);
   * documents no share names are left out. Expired shares no longer count.
   */
  async sharedVerbs(inst: InstanceRef, refs: readonly DocRef[]): Promise<SharedRef[]> {
    const keys = [...new Map(refs.map((r) => [JSON.stringify([r.type, '_id', r.id]), [r.type, '_id', r.id]])).values()];
    if (keys.length === 0) return [];
    const rows = await this.#views.query(inst, 'share-by-doc', { keys });
    const now = Date.now();
    const merged = new Map<string, { ref: DocRef; verbs: VerbSet }>();
    for (const row of rows) {
      const [type, , id] = row.key as [string, string, string];
      const value = row.value as { verbs: string[]; expires_at: string | null };
      if (hasExpired(value.expires_at, now)) continue;
      const verbs = verbsOf(value.verbs);
      if (!verbs) continue;
      const key = JSON.stringify([type, id]);
      const seen = merged.get(key);
      merged.set(key, { ref: { type, id }, verbs: seen ? union(seen.verbs, verbs) : verbs });
    }
    return [...merged.values()].map(({ ref, verbs }) => ({ ...ref, verbs: verbs.isAll() ? [...VERBS] : verbs.toArray() }));
  }

  /** Documents of a permission type with a rule on `doctype`, by id (cozy's GetPermissionsByDoctype). */
  async listByDoctype(inst: InstanceRef, permType: string, doctype: string, page: PageRequest): Promise<Page<PermissionRecord>> {
    const rows = await this.#views.query(inst, 'by-doctype', {
      startkey: [doctype, permType, page.cursor ?? ''],
      endkey: [doctype, permType, {}],
      limit: page.limit + 1,
      skip: page.skip,
      include_docs: true,
    });
    const items = rows.slice(0, page.limit).map((row) => row.doc as PermissionRecord);
    const after = rows[page.limit];
    if (!after?.id) return { items };
    return { items, next: page.skip === undefined ? { cursor: after.id } : { skip: page.skip + page.limit } };
  }

  /** A ttl wins over a body `expires_at`, and only a ttl of at most an hour may have tiny codes (as cozy-stack). */
  #expiry(input: ShareSetInput): { expiresAt?: string; tiny: boolean } {
    if (input.ttl === undefined || input.ttl === '') {
      return { expiresAt: isAbsent(input.expiresAt) ? undefined : parseExpiresAt(input.expiresAt), tiny: false };
    }
    // cozy-stack ignores a ttl it cannot read and makes a link that never expires; refusing it is safer.
    const ttl = parseBigDuration(input.ttl);
    if (ttl === null || ttl <= 0) throw ShareErrors.badTtl(`The ttl parameter is not a duration: ${input.ttl}`);
    return { expiresAt: new Date(Date.now() + ttl).toISOString(), tiny: !!input.tiny && ttl <= TINY_MAX_TTL_MS };
  }

  /** The kept names keep their code and short code; new names get fresh ones (12 characters). */
  async #replaceCodes(inst: InstanceDoc, doc: PermissionRecord, names: readonly string[]) {
    const kept = names.filter((name) => doc.codes && Object.hasOwn(doc.codes, name));
    const added = names.filter((name) => !kept.includes(name));
    const fresh = await mintShareCodes(inst, added, false, this.#codesInUse(inst));
    const pick = (from: Record<string, string> | undefined) =>
      kept.flatMap((name) => (from && Object.hasOwn(from, name) ? [[name, from[name] as string] as const] : []));
    return {
      codes: Object.fromEntries([...pick(doc.codes), ...Object.entries(fresh.codes)]),
      shortcodes: Object.fromEntries([...pick(doc.shortcodes), ...Object.entries(fresh.shortcodes)]),
    };
  }

  #codesInUse(inst: InstanceRef): CodesInUse {
    return {
      shortcode: async (code) => (await this.#views.query(inst, 'by-short-code', { key: code, limit: 1 })).length > 0,
    };
  }

  /**
   * Runs minting and saving one at a time per instance in this process, so two requests cannot both draw
   * the same short code as unused. (Share JWTs are unique by their jti; two processes of a farm drawing the
   * same short code at once is a one-in-10^21 event for 12-char codes.)
   */
  async #serialized<T>(inst: InstanceRef, task: () => Promise<T>): Promise<T> {
    const previous = this.#minting.get(inst.domain) ?? Promise.resolve();
    const run = previous.then(task);
    const tail = run.catch(() => undefined);
    this.#minting.set(inst.domain, tail);
    try {
      return await run;
    } finally {
      if (this.#minting.get(inst.domain) === tail) this.#minting.delete(inst.domain);
    }
  }
}

/** A stored rule's verbs; a document some other writer spoiled grants nothing rather than failing the call. */
function verbsOf(words: unknown): VerbSet | null {
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) return null;
  try {
    return VerbSet.fromWords(words);
  } catch {
    return null;
  }
}

function union(a: VerbSet, b: VerbSet): VerbSet {
  if (a.isAll() || b.isAll()) return VerbSet.unrestricted();
  return VerbSet.of(...a.toArray(), ...b.toArray());
}
