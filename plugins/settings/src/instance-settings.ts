import type { DocumentStore, InstanceDoc, InstanceService, Doc } from '@cozy-ts/kernel';
import { INSTANCE_SETTINGS_ID, SETTINGS_DOCTYPE } from '@cozy-ts/kernel';

/** Fields computed from the instance on every read (cozy-stack's getInstance), never taken from a client. */
const DERIVED = ['onboarding_finished', 'password_defined', 'auto_update', 'auth_mode', 'tos', 'tos_latest', 'uuid', 'oidc_id', 'context', 'sponsorships'];
/** Changed only through their own flows (e-mail confirmation), so a plain PUT keeps the stored values. */
const GUARDED = ['email', 'pending_email'];

export function withDerivedFields(settings: Doc, inst: InstanceDoc): Doc {
  return {
    ...settings,
    locale: inst.locale,
    onboarding_finished: inst.onboarding_finished,
    password_defined: !!inst.passphrase_hash,
    auto_update: true,
    auth_mode: 'basic',
    context: 'default',
  };
}

export async function readSettings(store: DocumentStore, inst: InstanceDoc): Promise<Doc> {
  try {
    return await store.get(inst, SETTINGS_DOCTYPE, INSTANCE_SETTINGS_ID);
  } catch (err) {
    // An instance made before settings documents existed: answer an empty one rather than a 404.
    if ((err as { status?: number }).status === 404) return { _id: INSTANCE_SETTINGS_ID };
    throw err;
  }
}

/**
 * Replaces the settings document as cozy-stack does (the body is the whole document), 409 on a stale rev.
 * Derived fields are dropped; guarded ones keep their stored value unless the caller is the CLI.
 */
export async function writeSettings(
  store: DocumentStore,
  instances: InstanceService,
  inst: InstanceDoc,
  attributes: Record<string, unknown>,
  rev: string | undefined,
  privileged: boolean,
): Promise<{ doc: Doc; inst: InstanceDoc }> {
  const current = await readSettings(store, inst);
  const next: Doc = { ...attributes, _id: INSTANCE_SETTINGS_ID };
  if (rev !== undefined) next._rev = rev;
  for (const k of DERIVED) delete next[k];
  if (!privileged) {
    for (const k of GUARDED) {
      if (current[k] !== undefined) next[k] = current[k];
      else delete next[k];
    }
  }
  const res = await store.put(inst, SETTINGS_DOCTYPE, next, { old: current._rev ? current : null });
  next._rev = res.rev;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const updated = await instances.modify(
    inst.domain,
    { locale: str(next.locale), tz: str(next.tz), email: str(next.email), publicName: str(next.public_name) },
    { syncSettings: false },
  );
  return { doc: next, inst: updated };
}
