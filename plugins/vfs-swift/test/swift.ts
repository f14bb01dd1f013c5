import type { Test } from 'tap';
import { inCi, startSwiftServer, swiftUnavailableReason, type SwiftServer } from '../../../test/helpers/swift-process.ts';
import { defaults, type VfsSwiftConfig } from '../src/config.ts';
import { SwiftVfs } from '../src/swift-vfs.ts';

/**
 * A Swift all-in-one for this test file, stopped on teardown; null (the file then skips) when Swift is not
 * installed here. In CI a missing Swift fails the file instead: the farm profile must not go untested.
 */
export async function swiftFor(t: Test): Promise<SwiftServer | null> {
  const reason = swiftUnavailableReason();
  if (reason) {
    if (inCi()) t.fail(reason);
    else t.plan(0, reason);
    return null;
  }
  const swift = await startSwiftServer();
  t.teardown(() => swift.stop());
  return swift;
}

export function configFor(swift: SwiftServer, over: Partial<VfsSwiftConfig> = {}): VfsSwiftConfig {
  return { ...defaults, authUrl: swift.authUrl, username: swift.user, password: swift.key, ...over };
}

export function vfsFor(swift: SwiftServer, over: Partial<VfsSwiftConfig> = {}): SwiftVfs {
  return new SwiftVfs(configFor(swift, over));
}
