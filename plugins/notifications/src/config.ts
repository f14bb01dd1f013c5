import type { JsonSchema } from '@cozy-ts/kernel';

export interface NotificationsConfig {
  /** The SMTP server the `sendmail` worker hands mails to (nodemailer). */
  smtp: {
    host: string;
    port: number;
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
    secure: boolean;
    user?: string;
    pass?: string;
    /** Never STARTTLS (a local relay or test sink). */
    ignoreTLS: boolean;
    /** Give up a connection or a reply after this long. */
    timeoutMs: number;
  };
  /** The From of mails sent in `noreply` mode; `{domain}` is replaced by the instance's domain without port. */
  noreplyAddress: string;
  noreplyName: string;
}

export const defaults: NotificationsConfig = {
  smtp: { host: '127.0.0.1', port: 25, secure: false, ignoreTLS: false, timeoutMs: 30_000 },
  noreplyAddress: 'noreply@{domain}',
  noreplyName: 'My Cozy',
};

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    smtp: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65_535 },
        secure: { type: 'boolean' },
        user: { type: 'string' },
        pass: { type: 'string' },
        ignoreTLS: { type: 'boolean' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
      },
    },
    noreplyAddress: { type: 'string', minLength: 3 },
    noreplyName: { type: 'string' },
  },
};
