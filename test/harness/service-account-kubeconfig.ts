// A kubeconfig that speaks as a ServiceAccount (a TokenRequest token), so a test can run
// `switchboard run` or the CLI with exactly the permissions RBAC gives that account.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export async function writeServiceAccountKubeconfig(admin: KubeConfig, namespace: string, serviceAccount: string, file: string): Promise<string> {
  const core = admin.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({ namespace, name: serviceAccount, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const token = request.status?.token;
  if (!token) throw new Error(`the API server returned no token for ServiceAccount ${namespace}/${serviceAccount}`);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const caData = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  writeFileSync(file, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': serviceAccount,
    clusters: [{ name: 'test', cluster: { server: cluster.server, ...(caData ? { 'certificate-authority-data': caData } : {}) } }],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [{ name: serviceAccount, context: { cluster: 'test', user: serviceAccount, namespace } }],
  }), { mode: 0o600 });
  return file;
}
