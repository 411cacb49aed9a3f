// tests/e2e/lib/tls.mjs — a self-signed certificate for browser tests over https and wss.
//
// makeTestCertificate() runs the openssl CLI (the recipe of docs/OPERATIONS.md "TLS and
// origins": EC P-256, CN=localhost, subjectAltName DNS:localhost and IP:127.0.0.1, 2 days) in a
// temporary folder removed when the test process exits, and returns the PEM paths plus the
// certificate's SPKI fingerprint: Chromium started with
// --ignore-certificate-errors-spki-list=<spki> trusts exactly that key and nothing else
// (chromiumTrusting() builds the flag), which is how a test trusts it without a system store.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Returns { dir, cert, key, spki }: spki is base64(SHA-256(SubjectPublicKeyInfo DER)).
export function makeTestCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-e2e-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', key, '-out', cert], { stdio: 'pipe', timeout: 20_000 });
  } catch (error) {
    throw new Error(`openssl could not make a test certificate (is the openssl CLI installed?): ${error.stderr ?? error.message}`);
  }
  const spkiDer = new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
  const spki = createHash('sha256').update(spkiDer).digest('base64');
  return { dir, cert, key, spki };
}

// The Chromium flag that trusts `certificate` (from makeTestCertificate) and nothing more.
export function chromiumTrusting(certificate) {
  return `--ignore-certificate-errors-spki-list=${certificate.spki}`;
}
