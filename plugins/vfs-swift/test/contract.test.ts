import t from 'tap';
import { vfsContract } from '@cozy-ts/kernel/testing';
import { MiB } from '../src/config.ts';
import { swiftFor, vfsFor } from './swift.ts';

const swift = await swiftFor(t);
if (swift) {
  // 4 MiB segments: the table's small uploads of known size go in one streamed PUT, those of unknown size in one
  // PUT from memory or (past 1 MiB) in segments, and the 40 MB one as a static large object of ten segments, so
  // every way to Swift is held to the same rules.
  vfsContract(t, 'swift', async () => {
    const vfs = vfsFor(swift, { segmentSize: 4 * MiB });
    return { vfs, cleanup: async () => vfs.close() };
  });
}
