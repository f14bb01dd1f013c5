import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DavErrors } from '@cozy-ts/dav';

/** `OC-Checksum` types we can check, by Nextcloud's name. */
const ALGORITHMS: Record<string, string> = { SHA1: 'sha1', MD5: 'md5', SHA256: 'sha256', 'SHA3-256': 'sha3-256' };

export const CHECKSUM_TYPES = Object.keys(ALGORITHMS);

/** The first checksum of an `OC-Checksum` header (`TYPE:hex`, several separated by spaces, or commas when repeated) we can check. */
export function checkableChecksum(header: string | undefined): { algorithm: string; hex: string } | undefined {
  for (const item of (header ?? '').trim().split(/[\s,]+/)) {
    const colon = item.indexOf(':');
    const algorithm = ALGORITHMS[item.slice(0, colon).toUpperCase()];
    const hex = item.slice(colon + 1).toLowerCase();
    if (colon > 0 && algorithm && /^[0-9a-f]+$/.test(hex)) return { algorithm, hex };
  }
  return undefined;
}

/**
 * The body, checked against the client's `OC-Checksum` as it streams: a mismatch fails the stream at its very end,
 * before the VFS commits anything, so a corrupted upload leaves no file (400, as Nextcloud answers). A header we
 * cannot check (Adler32, garbage) leaves the body as it is. The check runs as the consumer reads (an async
 * generator), so its failure reaches the consumer's listeners rather than being emitted before anyone listens.
 */
export function verifiedBody(body: Readable, header: string | undefined): Readable {
  const wanted = checkableChecksum(header);
  if (!wanted) return body;
  return Readable.from((async function* () {
    const hash = createHash(wanted.algorithm);
    // Leaving this loop early (the consumer gave up) destroys the body: the DAV adapter then drains the request.
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
    if (hash.digest('hex') !== wanted.hex) throw DavErrors.badRequest('The content does not match its OC-Checksum');
  })(), { objectMode: false });
}
