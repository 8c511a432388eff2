// A Gateway server's credentialName, resolved and checked as istiod does before it sends the
// certificate to the gateway proxy over SDS (pilot's credentials resolver and its secret reader).
import { X509Certificate } from 'node:crypto';
import { stringMap, type MeshObject } from '../../objects.ts';

export interface CredentialReference {
  /** The Secret's namespace when the name gives one; otherwise the gateway pod's namespace applies. */
  namespace?: string;
  name: string;
}

/**
 * The Secret a credentialName names, or undefined when it names something else: a ConfigMap
 * (configmap://), the gateway's own workload certificate (builtin://) or an unknown scheme.
 */
export function credentialReference(credentialName: string): CredentialReference | undefined {
  let rest = credentialName;
  if (rest.startsWith('kubernetes://')) rest = rest.slice('kubernetes://'.length);
  else if (rest.startsWith('kubernetes-gateway://')) {
    rest = rest.slice('kubernetes-gateway://'.length);
    if (!rest.includes('/')) return undefined;
  } else if (rest.includes('://')) return undefined;
  const [first, second] = rest.split('/');
  if (first === undefined || first === '') return undefined;
  if (second === undefined) return { name: first };
  return second === '' ? undefined : { namespace: first, name: second };
}

/** The Secret's keys and values as the API server stores them: data (base64) with stringData written over it. */
function secretData(secret: MeshObject): Map<string, Buffer> {
  const data = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(stringMap(secret.data))) data.set(key, Buffer.from(value, 'base64'));
  for (const [key, value] of Object.entries(stringMap(secret.stringData))) data.set(key, Buffer.from(value, 'utf8'));
  return data;
}

const KEY_PAIRS = [['cert', 'key'], ['tls.crt', 'tls.key']] as const;

/** What is wrong with the Secret as a server certificate, or undefined when istiod would serve it. */
export function credentialProblem(secret: MeshObject, now: Date): string | undefined {
  const data = secretData(secret);
  const filled = (key: string) => (data.get(key)?.length ?? 0) > 0;
  const pair = KEY_PAIRS.find((keys) => keys.every(filled));
  if (pair === undefined) {
    const empty = KEY_PAIRS.find((keys) => keys.every((key) => data.has(key)));
    if (empty !== undefined) {
      const blank = empty.filter((key) => !filled(key));
      return `its ${blank.length === 2 ? `keys ${blank.join(' and ')} are` : `key ${blank[0]} is`} empty`;
    }
    const keys = [...data.keys()].sort();
    return `it has neither tls.crt and tls.key nor cert and key (its keys: ${keys.length === 0 ? 'none' : keys.join(', ')})`;
  }
  const certKey = pair[0];
  const text = (data.get(certKey) as Buffer).toString('utf8');
  const block = /-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----/.exec(text);
  if (block === null) return `${certKey} is not PEM (no -----BEGIN ...----- block)`;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(block[0]);
  } catch {
    return `the first PEM block of ${certKey} is not an X.509 certificate`;
  }
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now > notAfter) return `the certificate in ${certKey} (${certificate.subject.replace(/\n/g, ', ')}) expired on ${notAfter.toISOString()}`;
  if (now < notBefore) return `the certificate in ${certKey} (${certificate.subject.replace(/\n/g, ', ')}) is not valid before ${notBefore.toISOString()}`;
  return undefined;
}
