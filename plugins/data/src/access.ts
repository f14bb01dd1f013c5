import type { AuthKind, RequestVerb } from '@cozy-ts/kernel';

/** A document as the permission engine reads it. */
export type AccessDoc = Readonly<Record<string, unknown>>;

/**
 * What the caller may do, as the domain code asks it. Built per request from the kernel's AUTH service, so the
 * domain never sees a request or a token. Token problems (none: 401, bad: 400) are thrown by every method;
 * only `holds` answers a refusal with `false` instead of a 403.
 */
export interface Access {
  /** 403 unless the caller may apply `verb` to `doc` (cozy's middlewares.Allow). */
  allow(verb: RequestVerb, doctype: string, doc: AccessDoc): Promise<void>;
  /** 403 unless the caller holds `verb` on every document of the doctype (cozy's AllowWholeType). */
  allowWholeType(verb: RequestVerb, doctype: string): Promise<void>;
  /** Whether the caller may apply `verb` to `doc`, or to the whole doctype without a doc. */
  holds(verb: RequestVerb, doctype: string, doc?: AccessDoc): Promise<boolean>;
  /** The kind of token and its subject (an app or konnector slug, an OAuth client id...). */
  who(): Promise<{ kind: AuthKind; subject: string }>;
}
