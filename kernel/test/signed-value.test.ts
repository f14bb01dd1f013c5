import t from 'tap';
import { signValue, unsignValue } from '../src/auth/signed-value.ts';

const SECRET = Buffer.alloc(32, 7).toString('base64');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

t.test('a signed value reads back only with its own secret and purpose', async (t) => {
  const signed = signValue(SECRET, '_csrf', 'token value');
  t.equal(unsignValue(SECRET, '_csrf', signed), 'token value');
  t.equal(unsignValue(SECRET, 'sess', signed), null, 'another purpose');
  t.equal(unsignValue(Buffer.alloc(32, 8).toString('base64'), '_csrf', signed), null, 'another secret');
  t.equal(unsignValue(SECRET, '_csrf', 'no-dot'), null);
  t.equal(unsignValue(SECRET, '_csrf', `${signed}${'x'.repeat(600)}`), null, 'oversized');
});

t.test('every other spelling of the MAC is refused, also one that decodes to the same bytes', async (t) => {
  for (const value of ['a', 'token value', 'x'.repeat(40)]) {
    const signed = signValue(SECRET, '_csrf', value);
    const last = signed.at(-1) as string;
    for (const c of ALPHABET) {
      if (c === last) continue;
      // A 32-byte MAC is 43 base64 characters: the last one carries two unused bits, so some of these decode alike.
      t.equal(unsignValue(SECRET, '_csrf', signed.slice(0, -1) + c), null, `${value.slice(0, 8)}: last character ${last} -> ${c}`);
    }
    t.equal(unsignValue(SECRET, '_csrf', `${signed}=`), null, 'padded');
  }
});
