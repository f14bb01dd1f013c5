import type { DocumentStore, InstanceRef } from '@cozy-ts/kernel';
import { NotificationErrors } from './errors.ts';

/** Where the user's choices live: one document, keyed by `<slug>/<category>` (or `*` for every category). */
export const PREFERENCES_DOCTYPE = 'io.cozy.notifications.settings';
export const PREFERENCES_ID = 'preferences';

export interface ChannelChoice {
  /** Keep the notification in the in-app center and push it to open apps over realtime (default true). */
  in_app?: boolean;
  /** Send it by mail (default true). */
  mail?: boolean;
}

export type Preferences = Record<string, ChannelChoice>;

const KEY = /^(\*|[a-z0-9._-]*\/[A-Za-z0-9._-]{1,128})$/;

export function checkPreferences(raw: unknown): Preferences {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw NotificationErrors.bad('preferences must be an object');
  const out: Preferences = {};
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > 1_000) throw NotificationErrors.bad('too many preferences');
  for (const [key, value] of entries) {
    if (!KEY.test(key)) throw NotificationErrors.bad(`invalid category key ${JSON.stringify(key.slice(0, 80))} (expected "<slug>/<category>" or "*")`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw NotificationErrors.bad(`preferences of ${key} must be an object`);
    const choice: ChannelChoice = {};
    for (const [channel, on] of Object.entries(value as Record<string, unknown>)) {
      if (channel !== 'in_app' && channel !== 'mail') throw NotificationErrors.bad(`unknown channel ${JSON.stringify(channel.slice(0, 40))}`);
      if (typeof on !== 'boolean') throw NotificationErrors.bad(`${key}.${channel} must be a boolean`);
      choice[channel] = on;
    }
    out[key] = choice;
  }
  return out;
}

export class PreferenceStore {
  constructor(private readonly store: DocumentStore) {}

  async get(inst: InstanceRef): Promise<{ prefs: Preferences; rev?: string }> {
    try {
      const doc = await this.store.get(inst, PREFERENCES_DOCTYPE, PREFERENCES_ID);
      return { prefs: (doc.categories as Preferences | undefined) ?? {}, rev: doc._rev };
    } catch (err) {
      if ((err as { status?: number }).status === 404) return { prefs: {} };
      throw err;
    }
  }

  async put(inst: InstanceRef, prefs: Preferences): Promise<Preferences> {
    for (let i = 0; ; i++) {
      const { rev } = await this.get(inst);
      try {
        await this.store.put(inst, PREFERENCES_DOCTYPE, { _id: PREFERENCES_ID, ...(rev ? { _rev: rev } : {}), categories: prefs });
        return prefs;
      } catch (err) {
        if ((err as { status?: number }).status !== 409 || i >= 3) throw err;
      }
    }
  }

  /** Whether `channel` is on for this category: its own choice, else the `*` one, else on. */
  async allows(inst: InstanceRef, slug: string, category: string, channel: keyof ChannelChoice): Promise<boolean> {
    const { prefs } = await this.get(inst);
    return prefs[`${slug}/${category}`]?.[channel] ?? prefs['*']?.[channel] ?? true;
  }
}
