import type { InjectionToken } from 'tsyringe';

/**
 * A versioned service interface that plugins provide and require. The token is what the DI container keys
 * the implementation by; the version is checked against requirement ranges before any plugin code runs.
 */
export interface Capability<T> {
  readonly id: string;
  readonly version: string;
  readonly token: InjectionToken<T>;
  /** Phantom field so Capability<A> and Capability<B> are not interchangeable. */
  readonly __type?: T;
}

export function defineCapability<T>(id: string, version: string): Capability<T> {
  return Object.freeze({ id, version, token: Symbol.for(`cozy-ts.capability.${id}`) as InjectionToken<T> });
}
