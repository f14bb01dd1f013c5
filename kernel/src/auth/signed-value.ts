import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A value signed with an instance secret for a named purpose (cookie name), so a session cookie cannot be
 * forged, replayed under another name, or moved to another instance. Format: base64url(value).base64url(mac).
 */
export function signValue(secretB64: string, purpose: string, value: string): string {
  const body = Buffer.from(value, 'utf8').toString('base64url');
  return `${body}.${mac(secretB64, purpose, body)}`;
}

export function unsignValue(secretB64: string, purpose: string, signed: string): string | null {
  if (signed.length > 512) return null;
  const dot = signed.indexOf('.');
  if (dot <= 0) return null;
  const body = signed.slice(0, dot);
  // The MAC's text is compared, not its decoded bytes: base64's last character carries unused bits, so another
  // spelling of the same bytes would otherwise pass as the signed value.
  const given = Buffer.from(signed.slice(dot + 1), 'utf8');
  const expected = Buffer.from(mac(secretB64, purpose, body), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return Buffer.from(body, 'base64url').toString('utf8');
}

function mac(secretB64: string, purpose: string, body: string): string {
  return createHmac('sha256', Buffer.from(secretB64, 'base64')).update(`${purpose}|${body}`).digest('base64url');
}
