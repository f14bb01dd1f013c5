/**
 * One store adapter or cluster for several kernels in a test, as processes of a farm share them: each kernel's
 * stop must not close what the others still use, so `close` does nothing and the test closes the real one.
 */
export function withNoopClose<T extends { close(): Promise<void> }>(x: T): T {
  return new Proxy(x, {
    get: (target, prop) => {
      if (prop === 'close') return async () => undefined;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
