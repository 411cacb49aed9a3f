// tests/e2e/lib/jwt.mjs — mints HS256 tokens with the test server's known secret, so a test
// chooses the claims (a fixed colour to look for on screen, an expiry in the past).
import { createHmac } from 'node:crypto';

const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

// `claims` are merged over sub/name/color/rooms defaults; exp defaults to an hour from now.
export function mintToken(secret, claims = {}) {
  const nowS = Math.floor(Date.now() / 1000);
  const payload = { sub: 'e2e-canvas', name: 'Canvas E2E', color: '#3366ff', rooms: ['*'],
                    iat: nowS, exp: nowS + 3600, ...claims };
  const signingInput = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
