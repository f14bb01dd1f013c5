import { createHash, randomInt } from 'node:crypto';
import type { Cache, InstanceRef } from '@cozy-ts/kernel';
import { lockedKeyPair, openWith, sealTo, type Sealed, type SealedTo } from './sealed-box.ts';

/** Nextcloud's lifetime of a login flow. */
export const FLOW_TTL_MS = 20 * 60 * 1000;

/** v2: the client polls for the credentials; v1: the browser is sent to `nc://login/…` with them. */
export type FlowKind = 'v1' | 'v2';

export interface FlowCredentials {
  server: string;
  loginName: string;
  appPassword: string;
}

/** A flow waiting for the user, found by its login token (the one in the browser's address). */
export interface FlowRecord {
  kind: FlowKind;
  /** The client's name as it announced itself (its User-Agent). */
  client: string;
  /** Epoch ms. */
  expiresAt: number;
  /** v2: SHA-256 of the poll token, to find where the credentials go. */
  poll?: string;
  /** v2: the key pair the credentials are sealed to; its private half is locked with the poll token. */
  publicKey?: string;
  lockedKey?: Sealed;
}

/** A granted v2 flow, found by the poll token's hash: nothing in it is readable without the poll token. */
interface GrantedRecord {
  server: string;
  loginName: string;
  expiresAt: number;
  publicKey: string;
  lockedKey: Sealed;
  password: SealedTo;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Nextcloud's sizes: 128 letters and digits for the poll token (~760 bits), 64 for the login token. */
export const POLL_TOKEN = /^[A-Za-z0-9]{128}$/;
export const LOGIN_TOKEN = /^[A-Za-z0-9]{64}$/;

function randomToken(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const PREFIX = 'webdav:login-flow:';
/** Cache keys hold only hashes of the tokens: reading the cache gives nothing to present. */
export const flowKey = (inst: InstanceRef, loginToken: string): string => `${PREFIX}${inst.domain}:login:${hashOf(loginToken)}`;
const grantedKey = (inst: InstanceRef, pollHash: string): string => `${PREFIX}${inst.domain}:poll:${pollHash}`;

/**
 * Login flows (Nextcloud's v1 and v2) of every instance, in the cluster cache so that the process serving the
 * client's poll need not be the one that served the browser. Each step is one atomic cache operation: a flow is
 * granted or denied once (`claim` takes it), and its credentials are handed out once (`poll` takes them).
 */
export class LoginFlows {
  constructor(
    private readonly cache: Cache,
    private readonly ttlMs = FLOW_TTL_MS,
  ) {}

  async start(inst: InstanceRef, kind: FlowKind, client: string): Promise<{ loginToken: string; pollToken?: string }> {
    const loginToken = randomToken(64);
    const expiresAt = Date.now() + this.ttlMs;
    if (kind === 'v1') {
      await this.cache.set(flowKey(inst, loginToken), { kind, client, expiresAt } satisfies FlowRecord, this.ttlMs);
      return { loginToken };
    }
    const pollToken = randomToken(128);
    const record: FlowRecord = { kind, client, expiresAt, poll: hashOf(pollToken), ...lockedKeyPair(pollToken) };
    await this.cache.set(flowKey(inst, loginToken), record, this.ttlMs);
    return { loginToken, pollToken };
  }

  /** The flow a login token names, or null (malformed, unknown, expired, already granted or denied). */
  async find(inst: InstanceRef, loginToken: string): Promise<FlowRecord | null> {
    if (!LOGIN_TOKEN.test(loginToken)) return null;
    return live(await this.cache.get<FlowRecord>(flowKey(inst, loginToken)));
  }

  /** Takes the flow out, so that only one grant or denial can act on it. */
  async claim(inst: InstanceRef, loginToken: string): Promise<FlowRecord | null> {
    if (!LOGIN_TOKEN.test(loginToken)) return null;
    return live(await this.cache.take<FlowRecord>(flowKey(inst, loginToken)));
  }

  /** Leaves a claimed v2 flow's credentials for its poll, sealed to the flow's key, until the flow expires. */
  async grant(inst: InstanceRef, flow: FlowRecord, creds: FlowCredentials): Promise<void> {
    if (flow.kind !== 'v2' || !flow.poll || !flow.publicKey || !flow.lockedKey) throw new Error('only a v2 flow is polled');
    const ttl = flow.expiresAt - Date.now();
    if (ttl <= 0) return;
    const record: GrantedRecord = {
      server: creds.server,
      loginName: creds.loginName,
      expiresAt: flow.expiresAt,
      publicKey: flow.publicKey,
      lockedKey: flow.lockedKey,
      password: sealTo(flow.publicKey, creds.appPassword),
    };
    await this.cache.set(grantedKey(inst, flow.poll), record, ttl);
  }

  /** The credentials of a granted flow, once; null before the grant, after the first answer, or once expired. */
  async poll(inst: InstanceRef, pollToken: string): Promise<FlowCredentials | null> {
    if (!POLL_TOKEN.test(pollToken)) return null;
    const record = live(await this.cache.take<GrantedRecord>(grantedKey(inst, hashOf(pollToken))));
    if (!record) return null;
    const appPassword = openWith(pollToken, record.publicKey, record.lockedKey, record.password);
    return appPassword === null ? null : { server: record.server, loginName: record.loginName, appPassword };
  }
}

// The cache's expiry is the bound that frees memory; this one is exact whatever the cache's clock and granularity.
function live<T extends { expiresAt: number }>(record: T | undefined): T | null {
  return record && typeof record.expiresAt === 'number' && record.expiresAt > Date.now() ? record : null;
}
