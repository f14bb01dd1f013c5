import { SMTPServer } from 'smtp-server';
import type { Test } from 'tap';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A local SMTP sink (npm smtp-server) on a free loopback port; `fail` makes it refuse every mail. */
export async function startSmtpSink(t: Test): Promise<{ port: number; mails: ReceivedMail[]; setFailing(on: boolean): void }> {
  const mails: ReceivedMail[] = [];
  let failing = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (raw += c));
      stream.on('end', () => {
        if (failing) return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port, mails, setFailing: (on) => (failing = on) };
}
