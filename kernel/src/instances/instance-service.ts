import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { clientPassphraseHash, DEFAULT_KDF_ITERATIONS, hashSecret } from '../auth/passphrase.ts';
import type { ClusterPorts } from '../cluster/types.ts';
import { KernelErrors } from '../errors.ts';
import { databaseName, GLOBAL_PREFIX, instancePrefix } from '../store/db-names.ts';
import type { DocumentStore } from '../store/document-store.ts';
import type { NewDoc } from '../store/types.ts';
import { normalizeDomain } from './domain.ts';
import { InstanceCache } from './instance-cache.ts';
import type { InstanceDoc, InstanceRef } from './instance.ts';

export interface CreateInstanceOptions {
  domain: string;
  locale?: string;
  email?: string;
  publicName?: string;
  tz?: string;
  diskQuota?: number;
  /** Clear passphrase: the instance is onboarded at once (CLI / admin use). */
  passphrase?: string;
  kdfIterations?: number;
}

export interface ModifyInstanceOptions {
  locale?: string;
  email?: string;
  publicName?: string;
  tz?: string;
  /** null removes the quota. */
  diskQuota?: number | null;
  onboardingFinished?: boolean;
}

/** Runs once an instance's databases exist; plugins lay down their defaults (root dirs, settings, ...). */
export type InstanceHook = (instance: InstanceDoc) => Promise<void>;

/** Doctypes whose databases exist from creation on, as cozy-stack creates them eagerly. */
const EAGER_DOCTYPES = ['io.cozy.settings', 'io.cozy.permissions', 'io.cozy.oauth.clients', 'io.cozy.sessions.logins'];

export const SETTINGS_DOCTYPE = 'io.cozy.settings';
export const INSTANCE_SETTINGS_ID = 'io.cozy.settings.instance';
/** Carries the domain of every instance created, modified or destroyed; per-process caches of its data listen. */
export const INSTANCE_INVALIDATE_CHANNEL = 'instances:invalidate';
const GLOBAL_INSTANCES_DB = databaseName(GLOBAL_PREFIX, 'instances');

export class InstanceService {
  readonly #cache = new InstanceCache();
  readonly #createdHooks: Array<{ owner: string; hook: InstanceHook }> = [];
  readonly #destroyHooks: Array<{ owner: string; hook: InstanceHook }> = [];
  #unsubscribe?: () => Promise<void>;

  constructor(
    private readonly store: DocumentStore,
    private readonly cluster: ClusterPorts,
    private readonly log: Logger,
  ) {}

  /** Registers a hook run during creation, in plugin start order; a throwing hook aborts the creation. */
  onCreated(owner: string, hook: InstanceHook): void {
    this.#createdHooks.push({ owner, hook });
  }

  /** Registers a hook run before an instance's databases are destroyed (e.g. to remove its files). */
  onDestroying(owner: string, hook: InstanceHook): void {
    this.#destroyHooks.push({ owner, hook });
  }

  async start(): Promise<void> {
    await this.store.adapter.createDatabase(GLOBAL_INSTANCES_DB);
    this.#unsubscribe = await this.cluster.pubsub.subscribe(INSTANCE_INVALIDATE_CHANNEL, (domain) => this.#cache.delete(domain));
  }

  async stop(): Promise<void> {
    const unsub = this.#unsubscribe;
    this.#unsubscribe = undefined;
    if (unsub) await unsub();
    this.#cache.clear();
  }

  /** Host → instance. Null when unknown or still being created or destroyed. */
  async find(domain: string): Promise<InstanceDoc | null> {
    const cached = this.#cache.get(domain);
    if (cached !== undefined) return cached;
    const doc = await this.#read(domain);
    const live = doc && !doc.state ? doc : null;
    this.#cache.set(domain, live);
    return live;
  }

  async get(domainInput: string): Promise<InstanceDoc> {
    const domain = normalizeDomain(domainInput);
    const doc = await this.#read(domain);
    if (!doc || doc.state === 'deleting') throw KernelErrors.instanceNotFound(`No instance for ${domain}`);
    return doc;
  }

  async list(): Promise<InstanceDoc[]> {
    const res = await this.store.adapter.allDocs(GLOBAL_INSTANCES_DB, { include_docs: true });
    return res.rows.flatMap((r) => (r.doc && !r.key.startsWith('_design/') ? [r.doc as unknown as InstanceDoc] : []));
  }

  async count(): Promise<number> {
    return (await this.store.adapter.databaseInfo(GLOBAL_INSTANCES_DB)).doc_count;
  }

  /**
   * All or nothing: the instance document is written first in state 'creating' (which makes a concurrent
   * creation of the same domain fail with 409 and keeps Host lookups from seeing it), then databases and
   * hooks run; on any failure everything written is removed before the error is rethrown.
   */
  async create(opts: CreateInstanceOptions): Promise<InstanceDoc> {
    const domain = normalizeDomain(opts.domain);
    const now = new Date().toISOString();
    const iterations = opts.kdfIterations ?? DEFAULT_KDF_ITERATIONS;
    const doc: InstanceDoc = {
      _id: domain,
      domain,
      prefix: instancePrefix(domain),
      locale: opts.locale ?? 'en',
      email: opts.email,
      public_name: opts.publicName,
      tz: opts.tz,
      disk_quota: opts.diskQuota,
      onboarding_finished: false,
      register_token: randomBytes(16).toString('hex'),
      kdf_iterations: iterations,
      session_secret: randomBytes(64).toString('base64'),
      oauth_secret: randomBytes(128).toString('base64'),
      cli_secret: randomBytes(64).toString('base64'),
      security_stamp: randomBytes(16).toString('hex'),
      created_at: now,
      updated_at: now,
      state: 'creating',
    };
    if (opts.passphrase !== undefined) {
      if (opts.passphrase.length === 0) throw KernelErrors.badRequest('The passphrase must not be empty');
      doc.passphrase_hash = await hashSecret(await clientPassphraseHash(opts.passphrase, domain, iterations));
      doc.onboarding_finished = true;
      delete doc.register_token;
    }
    const existing = await this.#read(domain);
    if (existing) throw KernelErrors.instanceExists(`Instance ${domain} already exists`);
    try {
      doc._rev = await this.#write(doc);
    } catch (err) {
      if ((err as { status?: number }).status === 409) throw KernelErrors.instanceExists(`Instance ${domain} already exists`);
      throw err;
    }
    try {
      for (const doctype of EAGER_DOCTYPES) await this.store.createDatabase(doc, doctype);
      await this.store.put(doc, SETTINGS_DOCTYPE, this.#settingsDoc(doc));
      for (const { owner, hook } of this.#createdHooks) {
        try {
          await hook(doc);
        } catch (err) {
          throw new Error(`plugin ${owner} failed to set up the instance: ${(err as Error).message}`, { cause: err });
        }
      }
      delete doc.state;
      doc.updated_at = new Date().toISOString();
      doc._rev = await this.#write(doc);
    } catch (err) {
      this.log.error({ err, domain }, 'instance creation failed; rolling back');
      // Plugins whose setup ran (files laid down on disk, ...) undo it as for a destruction.
      await this.#runDestroyHooks(doc);
      await this.#purge(doc).catch((e: unknown) => this.log.error({ err: e, domain }, 'rollback failed'));
      throw err;
    }
    await this.#invalidate(domain);
    this.log.info({ domain }, 'instance created');
    return doc;
  }

  /**
   * Applies a change; `syncSettings: false` when the caller has just written the settings document itself
   * (PUT /settings/instance) and only the instance's copy of locale, e-mail... must follow.
   */
  async modify(domainInput: string, patch: ModifyInstanceOptions, opts: { syncSettings?: boolean } = {}): Promise<InstanceDoc> {
    const doc = await this.get(domainInput);
    if (patch.locale !== undefined) doc.locale = patch.locale;
    if (patch.email !== undefined) doc.email = patch.email;
    if (patch.publicName !== undefined) doc.public_name = patch.publicName;
    if (patch.tz !== undefined) doc.tz = patch.tz;
    if (patch.diskQuota === null) delete doc.disk_quota;
    else if (patch.diskQuota !== undefined) doc.disk_quota = patch.diskQuota;
    if (patch.onboardingFinished !== undefined) doc.onboarding_finished = patch.onboardingFinished;
    doc.updated_at = new Date().toISOString();
    doc._rev = await this.#write(doc);
    if (opts.syncSettings !== false) await this.#syncSettings(doc);
    await this.#invalidate(doc.domain);
    return doc;
  }

  /** Saves an instance document changed by the kernel's auth code (passphrase, tokens). */
  async save(doc: InstanceDoc): Promise<InstanceDoc> {
    doc.updated_at = new Date().toISOString();
    doc._rev = await this.#write(doc);
    await this.#invalidate(doc.domain);
    return doc;
  }

  async destroy(domainInput: string): Promise<void> {
    const doc = await this.get(domainInput);
    doc.state = 'deleting';
    doc._rev = await this.#write(doc);
    await this.#invalidate(doc.domain);
    await this.#runDestroyHooks(doc);
    await this.#purge(doc);
    await this.#invalidate(doc.domain);
    this.log.info({ domain: doc.domain }, 'instance destroyed');
  }

  async #runDestroyHooks(doc: InstanceDoc): Promise<void> {
    for (const { owner, hook } of [...this.#destroyHooks].reverse()) {
      await hook(doc).catch((err: unknown) => this.log.error({ err, owner, domain: doc.domain }, 'destroy hook failed'));
    }
  }

  async #purge(doc: InstanceDoc): Promise<void> {
    await this.store.destroyInstanceDatabases(doc);
    const current = await this.#read(doc.domain);
    if (current?._rev) await this.store.adapter.delete(GLOBAL_INSTANCES_DB, doc.domain, current._rev);
  }

  async #write(doc: InstanceDoc): Promise<string> {
    return (await this.store.adapter.put(GLOBAL_INSTANCES_DB, stripUndefined(doc) as unknown as NewDoc)).rev;
  }

  async #read(domain: string): Promise<InstanceDoc | null> {
    try {
      return (await this.store.adapter.get(GLOBAL_INSTANCES_DB, domain)) as unknown as InstanceDoc;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
  }

  #settingsDoc(doc: InstanceDoc) {
    return stripUndefined({
      _id: INSTANCE_SETTINGS_ID,
      email: doc.email,
      public_name: doc.public_name,
      locale: doc.locale,
      tz: doc.tz,
    });
  }

  async #syncSettings(doc: InstanceDoc): Promise<void> {
    const ref: InstanceRef = doc;
    const current = await this.store.get(ref, SETTINGS_DOCTYPE, INSTANCE_SETTINGS_ID).catch(() => null);
    await this.store.put(ref, SETTINGS_DOCTYPE, stripUndefined({ ...current, ...this.#settingsDoc(doc), _rev: current?._rev }), {
      old: current,
    });
  }

  async #invalidate(domain: string): Promise<void> {
    this.#cache.delete(domain);
    await this.cluster.pubsub.publish(INSTANCE_INVALIDATE_CHANNEL, domain).catch((err: unknown) => {
      this.log.warn({ err, domain }, 'could not publish instance invalidation');
    });
  }
}

function stripUndefined<T extends object>(obj: T): T & { _id: string } {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T & { _id: string };
}
