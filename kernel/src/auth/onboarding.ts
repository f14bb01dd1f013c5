import { randomUUID } from 'node:crypto';
import { defineError } from '../errors.ts';
import type { InstanceDoc } from '../instances/instance.ts';
import type { InstanceService } from '../instances/instance-service.ts';
import type { AuthService } from './auth-service.ts';
import { hashSecret, verifySecret } from './passphrase.ts';
import type { SessionService } from './sessions.ts';

/** cozy-stack's bounds on the client-side PBKDF2 iterations (pkg/crypto/pbkdf2.go). */
export const MIN_KDF_ITERATIONS = 50_000;
export const MAX_KDF_ITERATIONS = 5_000_000;
// A client hash is 44 base64 characters; the cap only keeps absurd bodies away from scrypt.
const MAX_PASSPHRASE_LENGTH = 1024;
const MAX_HINT_LENGTH = 1000;

// Texts are cozy-stack's (model/instance/errors.go); its settings handlers answer all of them with 400.
const missingToken = defineError('COZY_ERR_MISSING_REGISTER_TOKEN', 400, 'Empty register token');
const invalidToken = defineError('COZY_ERR_INVALID_REGISTER_TOKEN', 400, 'Invalid register token');
const missingPassphrase = defineError('COZY_ERR_MISSING_PASSPHRASE', 400, 'Missing new passphrase');
const invalidPassphrase = defineError('COZY_ERR_INVALID_PASSPHRASE', 400, 'Invalid passphrase');
const badIterations = defineError('COZY_ERR_INVALID_KDF_ITERATIONS', 422, 'Invalid KdfIterations');
const badHint = defineError('COZY_ERR_INVALID_HINT', 422, 'Invalid hint');

export const PassphraseErrors = { missingToken, invalidToken, missingPassphrase, invalidPassphrase, badIterations, badHint } as const;

/** A new passphrase as a Cozy client sends it. */
export interface NewPassphrase {
  /** The client-side hash (see passphrase.ts clientPassphraseHash), never the clear password. */
  passphrase: unknown;
  /** The PBKDF2 iterations the client used; absent or 0 = the instance's current count. */
  iterations?: unknown;
  hint?: unknown;
}

/** What registering and changing a passphrase touch; a plugin gets them from the INSTANCES, AUTH and SESSIONS capabilities. */
export interface PassphraseDeps {
  instances: InstanceService;
  auth: AuthService;
  sessions: SessionService;
}

/** Whether a client-side hash is the instance's passphrase (slow on purpose: scrypt). */
export async function checkPassphrase(inst: InstanceDoc, hashed: unknown): Promise<boolean> {
  if (typeof hashed !== 'string' || hashed === '' || hashed.length > MAX_PASSPHRASE_LENGTH || !inst.passphrase_hash) return false;
  return verifySecret(hashed, inst.passphrase_hash);
}

/**
 * Onboarding: sets the first passphrase with the register token the admin handed out, as cozy-stack's
 * `POST /settings/passphrase`. The token is single-use: it is removed in the same write (checked against the
 * stored revision, so two concurrent registrations cannot both win), and a second call fails with 400.
 * Returns the saved instance; the caller opens the owner's first session.
 */
export async function registerPassphrase(deps: Pick<PassphraseDeps, 'instances' | 'auth'>, inst: InstanceDoc, registerToken: unknown, input: NewPassphrase): Promise<InstanceDoc> {
  // The request's instance may come from a per-process cache: decide on the stored document.
  const current = await deps.instances.get(inst.domain);
  if (typeof registerToken !== 'string' || registerToken === '' || !current.register_token) throw missingToken();
  if (!deps.auth.checkRegisterToken(current, registerToken)) throw invalidToken();
  const next = await withNewPassphrase(current, input);
  delete next.register_token;
  next.onboarding_finished = true;
  if (typeof input.hint === 'string' && input.hint !== '') next.passphrase_hint = input.hint;
  return deps.instances.save(next);
}

/**
 * Changes the passphrase after checking the current one, as cozy-stack's `PUT /settings/passphrase`: a new
 * security stamp revokes OAuth tokens minted under the old one, and every browser session but `keepSessionId`
 * (the caller's own, or null for none) is logged out.
 */
export async function changePassphrase(
  deps: Pick<PassphraseDeps, 'instances' | 'sessions'>,
  inst: InstanceDoc,
  currentPassphrase: unknown,
  input: NewPassphrase,
  keepSessionId: string | null,
): Promise<InstanceDoc> {
  const current = await deps.instances.get(inst.domain);
  if (currentPassphrase !== FORCE && !(await checkPassphrase(current, currentPassphrase))) throw invalidPassphrase();
  const next = await withNewPassphrase(current, input);
  if (input.hint !== undefined) next.passphrase_hint = typeof input.hint === 'string' && input.hint !== '' ? input.hint : undefined;
  const saved = await deps.instances.save(next);
  await deps.sessions.deleteOthers(saved, keepSessionId);
  return saved;
}

/**
 * Passed as the current passphrase by the owner's CLI (`cozy instances set-passphrase`, cozy-stack's `force`):
 * the admin replaces a forgotten passphrase without knowing it.
 */
export const FORCE: unique symbol = Symbol('force-passphrase');

/** A copy of the instance with the new passphrase hash, iterations and security stamp; validates the input. */
async function withNewPassphrase(inst: InstanceDoc, input: NewPassphrase): Promise<InstanceDoc> {
  const { passphrase, hint } = input;
  if (typeof passphrase !== 'string' || passphrase === '') throw missingPassphrase();
  if (passphrase.length > MAX_PASSPHRASE_LENGTH) throw invalidPassphrase('The passphrase is too long');
  if (hint !== undefined && (typeof hint !== 'string' || hint.length > MAX_HINT_LENGTH)) {
    throw badHint(`The hint must be a string of at most ${MAX_HINT_LENGTH} characters`, { source: { parameter: 'hint' } });
  }
  // A hint equal to the sent value would store the client hash, which logs in, in clear beside its scrypt.
  if (hint === passphrase) throw badHint('The hint cannot be the same as the password', { source: { parameter: 'hint' } });
  return {
    ...inst,
    passphrase_hash: await hashSecret(passphrase),
    kdf_iterations: kdfIterations(inst, input.iterations),
    security_stamp: randomUUID().replace(/-/g, ''),
  };
}

/**
 * The iterations the client hashed with. cozy-stack's range applies, except that the instance's own count is
 * always accepted: an admin may have created the instance with fewer (tests, a slow device) and its pages
 * hash with that count.
 */
function kdfIterations(inst: InstanceDoc, given: unknown): number {
  const n = typeof given === 'string' && given !== '' ? Number(given) : given ?? 0;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw badIterations('The KdfIterations number is not an integer', { source: { parameter: 'KdfIterations' } });
  if (n === 0 || n === inst.kdf_iterations) return inst.kdf_iterations;
  if (n < MIN_KDF_ITERATIONS) throw badIterations('The KdfIterations number is too low', { source: { parameter: 'KdfIterations' } });
  if (n > MAX_KDF_ITERATIONS) throw badIterations('The KdfIterations number is too high', { source: { parameter: 'KdfIterations' } });
  return n;
}
