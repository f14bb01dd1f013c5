import { createHash, randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { defineError } from '../errors.ts';
import type { ClusterPorts } from '../cluster/types.ts';
import type { DocEvent, DocEventBus } from '../events/doc-events.ts';
import type { InstanceRef } from '../instances/instance.ts';
import { PermissionSet } from '../permissions/permission-set.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { Doc } from '../store/types.ts';
import { DocCache } from './doc-cache.ts';

export const DEVICE_PASSWORDS_DOCTYPE = 'io.cozy.auth.device_passwords';

/**
 * What a device password may reach. DAV clients and mounts speak only Basic auth, so each password is scoped
 * to the data its client syncs, and a leaked calendar password cannot read files.
 */
export const DEVICE_SCOPES = {
  files: 'io.cozy.files',
  calendars: 'io.cozy.calendar.calendars io.cozy.calendar.events io.cozy.calendar.todos',
  contacts: 'io.cozy.contacts io.cozy.contacts.addressbooks io.cozy.contacts.groups',
} as const;

export type DeviceScope = keyof typeof DEVICE_SCOPES;

export interface DevicePasswordDoc extends Doc {
  label: string;
  scopes: DeviceScope[];
  created_at: string;
  last_used_at?: string;
}

const badScope = defineError('COZY_ERR_DEVICE_SCOPE', 422, 'Unknown device password scope');
const badLabel = defineError('COZY_ERR_DEVICE_LABEL', 422, 'A device password needs a label');

const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** Five groups of five from a 56-letter alphabet: about 145 bits, easy to type on a phone. */
const FORMAT = /^[a-km-zA-HJ-NP-Z2-9]{5}(?:-[a-km-zA-HJ-NP-Z2-9]{5}){4}$/;

export function looksLikeDevicePassword(secret: string): boolean {
  return FORMAT.test(secret);
}

function generate(): string {
  const groups: string[] = [];
  for (let g = 0; g < 5; g++) {
    let group = '';
    for (let i = 0; i < 5; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * A fast hash is enough here: the secret is random with ~145 bits, so there is nothing to brute-force, and DAV
 * clients authenticate on every request where a slow hash would cost seconds per sync.
 */
function idFor(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/**
 * How long a verified password is taken on trust without reading its document again. DAV clients send it on every
 * request (a first sync is thousands of PUTs), so one store read each would be most of a small request's cost.
 * Any write to the document (a revocation, a deletion through /data, a scope change) and any change of its
 * instance drop the entry at once on every process when the service is started with `events` and `cluster`
 * (see DocCache); this bound only covers writes that bypass the DocumentStore and lost pub/sub messages.
 */
export const DEVICE_PASSWORD_TTL_MS = 5_000;
const CACHE_SIZE = 10_000;
/** Named when only revocations were sent on it; it now carries every change. */
const CHANGED_CHANNEL = 'auth:device-passwords:revoked';

export interface DevicePasswordOptions {
  /** Pub/sub to tell the other processes of a change (see start()). */
  cluster?: Pick<ClusterPorts, 'pubsub'>;
  /** This process's doc events, so that a change made by any means drops the cached password. */
  events?: DocEventBus;
  /** Trust period of a verified password (tests shorten it). */
  ttlMs?: number;
}

interface Verified {
  doc: DevicePasswordDoc;
  permissions: PermissionSet;
}

/** Without its revision and last use, what a password document says; equal before and after a mere use. */
function grants(doc: Doc): Doc {
  const { _rev, last_used_at, ...rest } = doc as DevicePasswordDoc;
  void [_rev, last_used_at];
  return rest;
}

/** A use only moves `last_used_at`: nothing a cached answer relies on, so no process need read it again. */
function isUseStamp(e: DocEvent): boolean {
  return e.verb === 'UPDATED' && !!e.old && isDeepStrictEqual(grants(e.old), grants(e.doc));
}

export class DevicePasswordService {
  readonly #verified: DocCache<Verified>;

  constructor(
    private readonly store: DocumentStore,
    opts: DevicePasswordOptions = {},
  ) {
    this.#verified = new DocCache({
      doctype: DEVICE_PASSWORDS_DOCTYPE,
      channel: CHANGED_CHANNEL,
      max: CACHE_SIZE,
      ttlMs: opts.ttlMs ?? DEVICE_PASSWORD_TTL_MS,
      events: opts.events,
      pubsub: opts.cluster?.pubsub,
      harmless: isUseStamp,
    });
  }

  /** Listens for changes made on this process (needs `events`) and on the others (needs `cluster`). */
  start(): Promise<void> {
    return this.#verified.start();
  }

  stop(): Promise<void> {
    return this.#verified.stop();
  }

  /** Creates a password; the clear one is in the answer only, never stored. */
  async create(inst: InstanceRef, label: string, scopes: string[]): Promise<{ doc: DevicePasswordDoc; password: string }> {
    const clean = label.trim();
    if (!clean || clean.length > 200) throw badLabel();
    if (scopes.length === 0) throw badScope('Give at least one scope: files, calendars, contacts');
    for (const s of scopes) if (!(s in DEVICE_SCOPES)) throw badScope(`Unknown scope ${JSON.stringify(s)}: use files, calendars or contacts`);
    const password = generate();
    const doc: DevicePasswordDoc = {
      _id: idFor(password),
      label: clean,
      scopes: [...new Set(scopes)] as DeviceScope[],
      created_at: new Date().toISOString(),
    };
    doc._rev = (await this.store.put(inst, DEVICE_PASSWORDS_DOCTYPE, doc)).rev;
    return { doc, password };
  }

  async list(inst: InstanceRef): Promise<DevicePasswordDoc[]> {
    const res = await this.store.allDocs(inst, DEVICE_PASSWORDS_DOCTYPE, { include_docs: true }).catch((err: unknown) => {
      if ((err as { status?: number }).status === 404) return { rows: [] };
      throw err;
    });
    return res.rows.map((r) => r.doc as DevicePasswordDoc | null | undefined).filter((d): d is DevicePasswordDoc => !!d && !d._id.startsWith('_design/'));
  }

  async revoke(inst: InstanceRef, id: string): Promise<boolean> {
    this.#verified.drop(inst.domain, id);
    try {
      const doc = await this.store.get(inst, DEVICE_PASSWORDS_DOCTYPE, id);
      await this.store.delete(inst, DEVICE_PASSWORDS_DOCTYPE, id, doc._rev as string, { old: doc });
      return true;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return false;
      throw err;
    } finally {
      // Again after the delete, everywhere (also without doc events): a verify that read the document meanwhile
      // may have cached it.
      await this.#verified.forget(inst.domain, id);
    }
  }

  /** The permissions a presented password grants, or null; records the use at most once a minute. */
  async verify(inst: InstanceRef, secret: string): Promise<{ doc: DevicePasswordDoc; permissions: PermissionSet } | null> {
    if (!looksLikeDevicePassword(secret)) return null;
    const id = idFor(secret);
    const hit = this.#verified.get(inst.domain, id);
    if (hit) return { doc: hit.doc, permissions: hit.permissions };
    const mark = this.#verified.mark();
    let doc: DevicePasswordDoc;
    try {
      doc = (await this.store.get(inst, DEVICE_PASSWORDS_DOCTYPE, id)) as DevicePasswordDoc;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
    const last = doc.last_used_at ? Date.parse(doc.last_used_at) : 0;
    if (Date.now() - last > 60_000) {
      const touched = { ...doc, last_used_at: new Date().toISOString() };
      await this.store.put(inst, DEVICE_PASSWORDS_DOCTYPE, touched, { old: doc }).then((r) => (doc = { ...touched, _rev: r.rev }), () => undefined);
    }
    const permissions = PermissionSet.fromScope(doc.scopes.map((s) => DEVICE_SCOPES[s]).join(' '));
    this.#verified.set(inst.domain, id, { doc, permissions }, mark);
    return { doc, permissions };
  }
}
