import type { Doc, DocumentStore, InstanceRef, JobsService, RequestAuth } from '@cozy-ts/kernel';
import { senderOf } from './categories.ts';
import { NotificationErrors } from './errors.ts';
import type { PreferenceStore } from './preferences.ts';

export const NOTIFICATIONS_DOCTYPE = 'io.cozy.notifications';

const CHANNELS = new Set(['mobile', 'mail', 'sms']);
const MAX_TEXT = 10_000;

interface Input {
  category: string;
  category_id?: string;
  title: string;
  message?: string;
  priority?: 'high' | 'normal';
  state?: unknown;
  preferred_channels?: string[];
  data?: Record<string, unknown>;
  /** Send later: the mail waits until then (the in-app copy is kept at once, as cozy-stack does). */
  at?: number;
}

function text(attrs: Record<string, unknown>, field: string, required: boolean, max = MAX_TEXT): string | undefined {
  const v = attrs[field];
  if (v === undefined || v === null || v === '') {
    if (required) throw NotificationErrors.bad(`${field} is required`, { source: { pointer: `/data/attributes/${field}` } });
    return undefined;
  }
  if (typeof v !== 'string' || v.length > max) throw NotificationErrors.bad(`${field} must be a string of at most ${max} characters`, { source: { pointer: `/data/attributes/${field}` } });
  return v;
}

export function readNotification(attrs: Record<string, unknown>): Input {
  const input: Input = {
    title: text(attrs, 'title', true, 1_000)!,
    category: text(attrs, 'category', true, 128)!,
    category_id: text(attrs, 'category_id', false, 256),
    message: text(attrs, 'message', false),
  };
  if (attrs.priority !== undefined && attrs.priority !== null && attrs.priority !== '') {
    if (attrs.priority !== 'high' && attrs.priority !== 'normal') throw NotificationErrors.bad('priority must be "high" or "normal"');
    input.priority = attrs.priority;
  }
  if (attrs.state !== undefined) input.state = attrs.state;
  if (attrs.preferred_channels !== undefined && attrs.preferred_channels !== null) {
    const pc = attrs.preferred_channels;
    if (!Array.isArray(pc) || pc.length > 3 || !pc.every((c) => typeof c === 'string' && CHANNELS.has(c))) {
      throw NotificationErrors.bad('preferred_channels must be a list of "mobile", "mail", "sms"');
    }
    input.preferred_channels = pc as string[];
  }
  if (attrs.at !== undefined && attrs.at !== null && attrs.at !== '') {
    const at = typeof attrs.at === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(attrs.at) ? Date.parse(attrs.at) : Number.NaN;
    if (!Number.isFinite(at)) throw NotificationErrors.bad('at must be an ISO-8601 date', { source: { pointer: '/data/attributes/at' } });
    if (at - Date.now() > 366 * 86_400_000) throw NotificationErrors.bad('at is too far in the future', { source: { pointer: '/data/attributes/at' } });
    input.at = at;
  }
  if (attrs.data !== undefined && attrs.data !== null) {
    if (typeof attrs.data !== 'object' || Array.isArray(attrs.data)) throw NotificationErrors.bad('data must be an object');
    input.data = attrs.data as Record<string, unknown>;
  }
  return input;
}

/** cozy-stack's ensureMailFallback: mail is always the last resort. */
function channelsOf(preferred: string[] | undefined): string[] {
  const list = preferred && preferred.length > 0 ? [...preferred] : ['mobile'];
  if (!list.includes('mail')) list.push('mail');
  return list;
}

/**
 * cozy-stack's notification center: checks the category, collapses a stateful notification whose state did not
 * change, stores the notification in io.cozy.notifications (which reaches open apps through realtime, as every
 * store write does) and sends it by mail through a `sendmail` job, each channel as the user's preferences allow.
 * Push (mobile) and SMS have no provider here: they fall back to mail, as cozy-stack does when they fail.
 */
export class NotificationCenter {
  #indexed = new Set<string>();

  constructor(
    private readonly store: DocumentStore,
    private readonly jobs: JobsService,
    private readonly prefs: PreferenceStore,
  ) {}

  async #last(inst: InstanceRef, sourceId: string): Promise<Doc | null> {
    if (!this.#indexed.has(inst.prefix)) {
      await this.store.createIndex(inst, NOTIFICATIONS_DOCTYPE, { index: { fields: ['source_id', 'created_at'] }, ddoc: 'by-source-id', name: 'by-source-id' });
      this.#indexed.add(inst.prefix);
    }
    const res = await this.store.find(inst, NOTIFICATIONS_DOCTYPE, {
      selector: { source_id: sourceId, created_at: { $gt: null } },
      sort: [{ source_id: 'desc' }, { created_at: 'desc' }],
      limit: 1,
      use_index: 'by-source-id',
    });
    return res.docs[0] ?? null;
  }

  async push(inst: InstanceRef, auth: RequestAuth, attrs: Record<string, unknown>): Promise<Doc> {
    const input = readNotification(attrs);
    const sender = await senderOf(this.store, inst, auth, input.category);
    const sourceId = `cozy/${sender.originator}/${sender.slug}/${input.category}/${input.category_id ?? ''}`;
    const now = new Date().toISOString();
    if (sender.properties.stateful) {
      const last = await this.#last(inst, sourceId);
      // Same state as the last one from this source: nothing new to tell the user.
      if (last && JSON.stringify(last.state) === JSON.stringify(input.state)) return last;
    }
    const doc: Record<string, unknown> = {
      source_id: sourceId,
      originator: sender.originator,
      ...(sender.slug ? { slug: sender.slug } : {}),
      category: input.category,
      ...(input.category_id ? { category_id: input.category_id } : {}),
      created_at: now,
      last_sent: now,
      title: input.title,
      ...(input.message ? { message: input.message } : {}),
      priority: input.priority ?? sender.properties.default_priority ?? 'normal',
      ...(input.state !== undefined ? { state: input.state } : {}),
      ...(input.data ? { data: input.data } : {}),
    };
    let saved: Doc = { _id: '', ...doc };
    if (await this.prefs.allows(inst, sender.slug, input.category, 'in_app')) {
      const res = await this.store.put(inst, NOTIFICATIONS_DOCTYPE, doc, { old: null });
      saved = { ...doc, _id: res.id, _rev: res.rev };
    }
    const channels = channelsOf(input.preferred_channels);
    if (channels.includes('mail') && (await this.prefs.allows(inst, sender.slug, input.category, 'mail'))) {
      await this.jobs.push(inst, {
        worker: 'sendmail',
        delayMs: input.at ? Math.max(0, input.at - Date.now()) : 0,
        message: {
          mode: 'noreply',
          subject: input.title,
          parts: [{ type: 'text/plain', body: input.message ?? input.title }],
          ...(saved._id ? { notification_id: saved._id } : {}),
        },
      });
    }
    return saved;
  }
}
