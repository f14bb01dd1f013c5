import { randomBytes, randomInt } from 'node:crypto';
import { mintToken } from '../auth/tokens.ts';
import { KernelErrors } from '../errors.ts';
import type { InstanceDoc } from '../instances/instance.ts';

const ALPHANUMERICS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SHORTCODE_LENGTH = 12;
const TINY_DIGITS = 6;

/** A 6-digit code falls to a million guesses, so only links that die within the hour get one (as cozy-stack). */
export const TINY_MAX_TTL_MS = 3600 * 1000;

// Enough for a burst of links under one name within a second; beyond it something is wrong.
const MAX_ATTEMPTS = 100;

export interface ShareCodes {
  codes: Record<string, string>;
  shortcodes: Record<string, string>;
}

/** Whether a short code already stands for some permission document. */
export interface CodesInUse {
  shortcode(code: string): Promise<boolean>;
}

/** 12 alphanumerics, or 6 digits for a tiny code; randomInt is uniform, unlike a byte modulo 62. */
function randomShortcode(tiny: boolean): string {
  if (tiny) return String(randomInt(10 ** TINY_DIGITS)).padStart(TINY_DIGITS, '0');
  let code = '';
  for (let i = 0; i < SHORTCODE_LENGTH; i++) code += ALPHANUMERICS[randomInt(ALPHANUMERICS.length)];
  return code;
}

/**
 * A share JWT for `name`. Two codes minted for one name within the same second would otherwise be the same JWT
 * (HS512 is deterministic and `iat` counts seconds) and one link would open another share, even across the
 * processes of a farm: a random `jti` makes each one unique.
 */
function freshToken(inst: InstanceDoc, name: string): Promise<string> {
  return mintToken(inst, 'share', { subject: name, jti: randomBytes(16).toString('base64url') });
}

async function freshShortcode(tiny: boolean, inUse: CodesInUse, taken: ReadonlySet<string>): Promise<string> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const code = randomShortcode(tiny);
    if (!taken.has(code) && !(await inUse.shortcode(code))) return code;
  }
  throw KernelErrors.internal('Could not draw an unused short code');
}

/**
 * A share JWT and a short code for each name; names are the keys a later PATCH keeps or drops. Built with
 * Object.fromEntries so that a name such as "__proto__" is a plain key.
 */
export async function mintShareCodes(inst: InstanceDoc, names: readonly string[], tiny: boolean, inUse: CodesInUse): Promise<ShareCodes> {
  const codes: Array<[string, string]> = [];
  const shortcodes: Array<[string, string]> = [];
  const drawn = new Set<string>();
  for (const name of names) {
    codes.push([name, await freshToken(inst, name)]);
    const shortcode = await freshShortcode(tiny, inUse, drawn);
    drawn.add(shortcode);
    shortcodes.push([name, shortcode]);
  }
  return { codes: Object.fromEntries(codes), shortcodes: Object.fromEntries(shortcodes) };
}
