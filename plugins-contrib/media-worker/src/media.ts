import { createHash } from 'node:crypto';
import type { ClaimedJob } from './worker.ts';

/**
 * The example's work: a "media probe" of base64 content (size, SHA-256, a guess of the type from its magic bytes),
 * the kind of CPU-bound task a deployment moves off the web processes. `delay_ms` stands for a long job.
 */
export interface MediaMessage {
  content?: string;
  delay_ms?: number;
}

const MAGIC: Array<[string, number[]]> = [
  ['image/png', [0x89, 0x50, 0x4e, 0x47]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/gif', [0x47, 0x49, 0x46, 0x38]],
  ['application/pdf', [0x25, 0x50, 0x44, 0x46]],
];

export async function probe(job: ClaimedJob, signal: AbortSignal): Promise<{ size: number; sha256: string; mime: string }> {
  const msg = (job.message ?? {}) as MediaMessage;
  if (typeof msg.content !== 'string') throw new Error('message.content (base64) is required');
  const bytes = Buffer.from(msg.content, 'base64');
  if (msg.delay_ms) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, Math.min(msg.delay_ms!, 3_600_000));
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
  }
  const mime = MAGIC.find(([, sig]) => sig.every((b, i) => bytes[i] === b))?.[0] ?? 'application/octet-stream';
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), mime };
}
