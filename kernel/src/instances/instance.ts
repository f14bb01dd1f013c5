/** The instance document, kept in the global `global/instances` database with the domain as `_id`. */
export interface InstanceDoc {
  _id: string;
  _rev?: string;
  domain: string;
  /** Database prefix: "cozy" + hex(sha256(domain)[:16]) as cozy-stack does for new instances. */
  prefix: string;
  locale: string;
  email?: string;
  public_name?: string;
  tz?: string;
  /** Bytes; absent = unlimited. */
  disk_quota?: number;
  onboarding_finished: boolean;
  /** Hex token the owner uses once to choose a passphrase; removed when onboarded. */
  register_token?: string;
  /** scrypt of the client-side PBKDF2 hash (see auth/passphrase.ts). */
  passphrase_hash?: string;
  kdf_iterations: number;
  /** Secrets for sessions, OAuth and CLI tokens, base64. */
  session_secret: string;
  oauth_secret: string;
  cli_secret: string;
  /** Renewed on a passphrase change: OAuth tokens carrying an older stamp stop working. */
  security_stamp?: string;
  passphrase_hint?: string;
  created_at: string;
  updated_at: string;
  /** Set while a creation or destruction is under way; such an instance answers 404. */
  state?: 'creating' | 'deleting';
}

/** What every per-instance call takes first. */
export interface InstanceRef {
  readonly domain: string;
  readonly prefix: string;
}

/** The public view of an instance (admin API, CLI): no secrets. */
export type InstanceInfo = Omit<InstanceDoc, '_id' | '_rev' | 'passphrase_hash' | 'session_secret' | 'oauth_secret' | 'cli_secret' | 'security_stamp' | 'passphrase_hint'>;

export function toInstanceInfo(doc: InstanceDoc): InstanceInfo {
  const { _id, _rev, passphrase_hash, session_secret, oauth_secret, cli_secret, security_stamp, passphrase_hint, ...info } = doc;
  void [_id, _rev, passphrase_hash, session_secret, oauth_secret, cli_secret, security_stamp, passphrase_hint];
  return info;
}
