// Certificates for a throwaway control plane and for the webhook under test.
// openssl is on every Debian machine; shelling out keeps a certificate library out of the project.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface CertificateAuthority {
  dir: string;
  certFile: string;
  keyFile: string;
}

export function createCertificateAuthority(dir: string, commonName: string): CertificateAuthority {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-days', '3650', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { dir, certFile: join(dir, 'ca.crt'), keyFile: join(dir, 'ca.key') };
}

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
}

/** Issues a leaf certificate signed by the CA; `organization` becomes the Kubernetes group of a client cert. */
export function issueCertificate(ca: CertificateAuthority, name: string, options: {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  client?: boolean;
  days?: number;
}): IssuedCertificate {
  const subject = `/CN=${options.commonName}${options.organization ? `/O=${options.organization}` : ''}`;
  const sans = [...(options.dnsNames ?? []).map((d) => `DNS:${d}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
  const extensions = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${options.client ? 'clientAuth' : 'serverAuth,clientAuth'}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ];
  const extFile = join(ca.dir, `${name}.ext`);
  writeFileSync(extFile, extensions.join('\n') + '\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], ca.dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-out', `${name}.crt`, '-days', String(options.days ?? 365), '-extfile', extFile], ca.dir);
  return { certFile: join(ca.dir, `${name}.crt`), keyFile: join(ca.dir, `${name}.key`) };
}

export function createServiceAccountKeyPair(dir: string): { privateKeyFile: string; publicKeyFile: string } {
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return { privateKeyFile: join(dir, 'sa.key'), publicKeyFile: join(dir, 'sa.pub') };
}
