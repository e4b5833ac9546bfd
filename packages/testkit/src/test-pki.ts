import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';

/** A certificate and its key, as PEM files and as text. */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** A certificate authority made for one test run: it issues server and client certificates. */
export interface TestPki {
  dir: string;
  caFile: string;
  ca: string;
  /** A certificate for `hosts` (IP addresses and DNS names, the first also its CN), valid for server and client use. */
  issue(name: string, hosts: readonly string[]): TestCertificate;
}

const DAYS = '2';
// P-256 keys: generated in milliseconds, where RSA would cost a second per certificate
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A CA in a new temporary directory, made with the system's `openssl` (Debian's `openssl`
 * package; scripts/test installs it). Each call is a different CA: a certificate of one does
 * not verify against another, which is how a test shows a peer with the wrong certificate.
 */
export function createTestPki(caName = 'Switchboard Test CA'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-pki-'));
  openssl(['req', '-x509', ...KEY, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', DAYS, '-subj', `/CN=${caName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const caFile = join(dir, 'ca.pem');
  let serial = 0;
  return {
    dir,
    caFile,
    ca: readFileSync(caFile, 'utf8'),
    issue(name, hosts) {
      const base = `${name}-${++serial}`;
      const san = hosts.map((h) => (isIP(h) === 0 ? `DNS:${h}` : `IP:${h}`)).join(',');
      writeFileSync(join(dir, `${base}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n`);
      openssl(['req', ...KEY, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${hosts[0] ?? name}`], dir);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.pem`, '-days', DAYS, '-extfile', `${base}.ext`], dir);
      const certFile = join(dir, `${base}.pem`);
      const keyFile = join(dir, `${base}.key`);
      return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    },
  };
}
