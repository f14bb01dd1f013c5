import type { Transporter } from 'nodemailer';
import type { InstanceService, WorkerContext, WorkerDefinition } from '@cozy-ts/kernel';
import type { NotificationsConfig } from './config.ts';
import { NotificationErrors } from './errors.ts';

/** The `sendmail` job message, as cozy-stack's mail.Options (the fields this server uses). */
export interface MailMessage {
  /** `noreply`: to the instance's owner; `from`: from the owner (Reply-To) to `to`. */
  mode: 'noreply' | 'from';
  to?: Array<{ name?: string; email: string }>;
  subject: string;
  parts: Array<{ type: 'text/plain' | 'text/html'; body: string }>;
}

const EMAIL = /^[^\s@<>"]{1,64}@[^\s@<>"]{1,255}$/;
const MAX_BODY = 1_000_000;

export function readMail(raw: unknown): MailMessage {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw NotificationErrors.badMail('The sendmail message must be an object');
  const m = raw as Record<string, unknown>;
  const mode = m.mode ?? 'noreply';
  if (mode !== 'noreply' && mode !== 'from') throw NotificationErrors.badMail('mode must be "noreply" or "from"');
  if (typeof m.subject !== 'string' || m.subject === '' || m.subject.length > 998) throw NotificationErrors.badMail('Missing subject');
  if (!Array.isArray(m.parts) || m.parts.length === 0 || m.parts.length > 2) throw NotificationErrors.badMail('Missing content');
  const parts = m.parts.map((p: unknown) => {
    const part = p as { type?: unknown; body?: unknown };
    if ((part?.type !== 'text/plain' && part?.type !== 'text/html') || typeof part.body !== 'string' || part.body.length > MAX_BODY) {
      throw NotificationErrors.badMail('Each part needs a type (text/plain or text/html) and a body');
    }
    return { type: part.type, body: part.body } as MailMessage['parts'][number];
  });
  let to: MailMessage['to'];
  if (mode === 'from') {
    if (!Array.isArray(m.to) || m.to.length === 0 || m.to.length > 100) throw NotificationErrors.badMail('to is required in "from" mode');
    to = m.to.map((r: unknown) => {
      const rec = r as { name?: unknown; email?: unknown };
      if (typeof rec?.email !== 'string' || !EMAIL.test(rec.email)) throw NotificationErrors.badMail('Invalid recipient');
      return { email: rec.email, ...(typeof rec.name === 'string' ? { name: rec.name.replace(/[\r\n]/g, ' ').slice(0, 200) } : {}) };
    });
  }
  return { mode, subject: m.subject.replace(/[\r\n]+/g, ' '), parts, ...(to ? { to } : {}) };
}

/**
 * The `sendmail` worker: a mail to the instance's owner (or from them) through the configured SMTP server.
 * A refused or unreachable server throws, so the job is retried as any job.
 */
export class Mailer {
  #transport?: Transporter;

  constructor(
    private readonly config: NotificationsConfig,
    private readonly instances: InstanceService,
  ) {}

  // nodemailer is loaded with the first mail: most servers send few, and it should not weigh on boot.
  async #transporter(): Promise<Transporter> {
    if (this.#transport) return this.#transport;
    const { default: nodemailer } = await import('nodemailer');
    const s = this.config.smtp;
    this.#transport ??= nodemailer.createTransport({
      host: s.host,
      port: s.port,
      secure: s.secure,
      ignoreTLS: s.ignoreTLS,
      ...(s.user ? { auth: { user: s.user, pass: s.pass ?? '' } } : {}),
      connectionTimeout: s.timeoutMs,
      greetingTimeout: s.timeoutMs,
      socketTimeout: s.timeoutMs,
    });
    return this.#transport;
  }

  worker(): WorkerDefinition {
    return { concurrency: 2, maxExecCount: 3, timeout: 60, run: (ctx) => this.send(ctx) };
  }

  async send({ instance, job }: WorkerContext): Promise<void> {
    const mail = readMail(job.message);
    const owner = await this.instances.get(instance.domain);
    const host = instance.domain.replace(/:\d+$/, '');
    const from = { name: this.config.noreplyName, address: this.config.noreplyAddress.replace('{domain}', host) };
    const text = mail.parts.find((p) => p.type === 'text/plain')?.body;
    const html = mail.parts.find((p) => p.type === 'text/html')?.body;
    let to: Array<{ name: string; address: string }>;
    let replyTo: string | undefined;
    if (mail.mode === 'noreply') {
      if (!owner.email) throw new Error('The instance has no email address');
      to = [{ name: '', address: owner.email }];
    } else {
      to = (mail.to ?? []).map((r) => ({ name: r.name ?? '', address: r.email }));
      replyTo = owner.email;
    }
    await (await this.#transporter()).sendMail({ from, to, subject: mail.subject, text, html, ...(replyTo ? { replyTo } : {}), headers: { 'X-Cozy-Job': job._id } });
  }

  close(): void {
    this.#transport?.close();
    this.#transport = undefined;
  }
}
