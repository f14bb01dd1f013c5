import { randomBytes } from 'node:crypto';
import type { DocumentStore } from '../store/document-store.ts';
import type { InstanceDoc } from '../instances/instance.ts';
import type { Doc } from '../store/types.ts';
import { signValue, unsignValue } from './signed-value.ts';

export const SESSIONS_DOCTYPE = 'io.cozy.sessions';
export const LOGINS_DOCTYPE = 'io.cozy.sessions.logins';
export const SESSION_COOKIE = 'cozysessid';

/** A session lasts at most this long after it was last seen (cozy-stack's SessionMaxAge). */
export const SESSION_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
// last_seen is refreshed at most once a day, so a browsing session does not write on every request.
const TOUCH_EVERY_MS = 24 * 3600 * 1000;

export type SessionDuration = 'short' | 'normal' | 'long';

export interface SessionDoc extends Doc {
  created_at: string;
  last_seen: string;
  long_run: boolean;
  short_run: boolean;
}

export interface LoginRecord {
  ip: string;
  userAgent: string;
  clientRegistration?: boolean;
}

export interface SessionCookie {
  name: string;
  value: string;
  /** Seconds; undefined = a browser-session cookie. */
  maxAge?: number;
}

/** Browser sessions of an instance: documents in io.cozy.sessions, referenced by a signed cookie. */
export class SessionService {
  constructor(private readonly store: DocumentStore) {}

  async create(inst: InstanceDoc, duration: SessionDuration, login?: LoginRecord): Promise<SessionDoc> {
    const now = new Date().toISOString();
    const doc: SessionDoc = {
      _id: randomBytes(16).toString('hex'),
      created_at: now,
      last_seen: now,
      long_run: duration === 'long',
      short_run: duration === 'short',
    };
    doc._rev = (await this.store.put(inst, SESSIONS_DOCTYPE, doc)).rev;
    if (login) {
      await this.store.put(inst, LOGINS_DOCTYPE, {
        session_id: doc._id,
        ip: login.ip,
        user_agent: login.userAgent,
        client_registration: login.clientRegistration ?? false,
        created_at: now,
      });
    }
    return doc;
  }

  cookieFor(inst: InstanceDoc, session: SessionDoc): SessionCookie {
    const value = signValue(inst.session_secret, SESSION_COOKIE, session._id);
    // Long sessions outlive the browser (cozy-stack sets 10 years and expires them server-side after 30 days idle).
    const maxAge = session.long_run ? 10 * 365 * 24 * 3600 : session.short_run ? 5 * 60 : undefined;
    return { name: SESSION_COOKIE, value, maxAge };
  }

  /** The live session a cookie names, or null (bad signature, unknown, or expired: an expired one is deleted). */
  async fromCookie(inst: InstanceDoc, cookie: string | undefined): Promise<SessionDoc | null> {
    if (!cookie) return null;
    const id = unsignValue(inst.session_secret, SESSION_COOKIE, cookie);
    if (!id || !/^[0-9a-f]{32}$/.test(id)) return null;
    let doc: SessionDoc;
    try {
      doc = (await this.store.get(inst, SESSIONS_DOCTYPE, id)) as SessionDoc;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return null;
      throw err;
    }
    const idle = Date.now() - Date.parse(doc.last_seen);
    const maxIdle = doc.short_run ? 5 * 60 * 1000 : SESSION_MAX_AGE_MS;
    if (idle > maxIdle) {
      await this.store.delete(inst, SESSIONS_DOCTYPE, doc._id, doc._rev as string).catch(() => undefined);
      return null;
    }
    if (idle > TOUCH_EVERY_MS) {
      const touched = { ...doc, last_seen: new Date().toISOString() };
      // A concurrent touch by another request is harmless: keep the session either way.
      await this.store.put(inst, SESSIONS_DOCTYPE, touched, { old: doc }).then((r) => (touched._rev = r.rev), () => undefined);
      return touched;
    }
    return doc;
  }

  async list(inst: InstanceDoc): Promise<SessionDoc[]> {
    const res = await this.store.allDocs(inst, SESSIONS_DOCTYPE, { include_docs: true }).catch((err: unknown) => {
      if ((err as { status?: number }).status === 404) return { rows: [] };
      throw err;
    });
    const now = Date.now();
    return res.rows
      .map((r) => r.doc as SessionDoc | null | undefined)
      .filter((d): d is SessionDoc => !!d && !d._id.startsWith('_design/') && now - Date.parse(d.last_seen) <= SESSION_MAX_AGE_MS);
  }

  async delete(inst: InstanceDoc, session: SessionDoc): Promise<void> {
    await this.store.delete(inst, SESSIONS_DOCTYPE, session._id, session._rev as string, { old: session }).catch((err: unknown) => {
      if ((err as { status?: number }).status !== 404) throw err;
    });
  }

  /** Logs out every other browser (on a passphrase change, or at the owner's request). */
  async deleteOthers(inst: InstanceDoc, keepId: string | null): Promise<number> {
    let n = 0;
    for (const s of await this.list(inst)) {
      if (s._id === keepId) continue;
      await this.delete(inst, s);
      n++;
    }
    return n;
  }

  async loginHistory(inst: InstanceDoc, limit = 100): Promise<Doc[]> {
    const res = await this.store.allDocs(inst, LOGINS_DOCTYPE, { include_docs: true }).catch(() => ({ rows: [] }));
    return res.rows
      .map((r) => r.doc)
      .filter((d): d is Doc => !!d && !d._id.startsWith('_design/'))
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)))
      .slice(0, limit);
  }
}
