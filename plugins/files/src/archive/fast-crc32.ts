import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';

type Crc32Module = { unsigned: (buf: Buffer, previous?: unknown) => number };

let done = false;

/**
 * yazl checksums every byte with `buffer-crc32`, a JavaScript table loop that runs near 80 MiB/s: the bottleneck of
 * a stored (not deflated) zip, 9 times slower than zlib's native CRC-32 (Node >= 20.15). The module yazl loads gets
 * its `unsigned` replaced by zlib's for the calls yazl makes (a number or nothing as the running value), and keeps
 * its own code for anything else; the results are the same CRC-32. Idempotent.
 */
export function useNativeCrc32(): void {
  if (done) return;
  done = true;
  const fromYazl = createRequire(createRequire(import.meta.url).resolve('yazl'));
  const mod = fromYazl('buffer-crc32') as Crc32Module;
  const original = mod.unsigned;
  mod.unsigned = (buf: Buffer, previous?: unknown) =>
    Buffer.isBuffer(buf) && (previous === undefined || typeof previous === 'number') ? crc32(buf, previous ?? 0) : original(buf, previous);
}
