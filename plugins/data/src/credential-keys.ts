import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AccountCrypto, parseNaclKey } from './account-crypto.ts';
import type { DataConfig } from './config.ts';

/**
 * The account key files named in the config (relative paths from the config file's folder), read when the routes
 * are mounted. A missing or malformed file stops the boot with its path: accounts written unencrypted by mistake
 * would be worse than a server that does not start.
 */
export async function loadAccountCrypto(config: DataConfig, paths: { configDir: string }): Promise<AccountCrypto | undefined> {
  if (!config.credentials) return undefined;
  const read = async (which: 'encryptorKey' | 'decryptorKey') => {
    const file = path.resolve(paths.configDir, (config.credentials as NonNullable<DataConfig['credentials']>)[which]);
    try {
      return parseNaclKey(await readFile(file, 'utf8'));
    } catch (err) {
      throw new Error(`data plugin: credentials.${which} ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  return new AccountCrypto({ encryptor: await read('encryptorKey'), decryptor: await read('decryptorKey') });
}
