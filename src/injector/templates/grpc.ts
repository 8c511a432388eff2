// Istio's templates for proxyless gRPC: the application's gRPC library talks xDS to istiod itself.
// grpc-simple only writes a bootstrap file (an init container) that points the library at istiod;
// grpc-agent runs pilot-agent beside the app, without Envoy, to fetch certificates and proxy xDS.
import type { V1Container, V1EnvVar, V1Volume } from '@kubernetes/client-node';
import type { InjectorConfig } from '../config.ts';
import { proxyContainerName } from '../istio/istio-constants.ts';

export const grpcBootstrapVolume = 'grpc-io-proxyless-bootstrap';
const bootstrapDirectory = '/var/lib/grpc/data/';
const bootstrapFile = `${bootstrapDirectory}bootstrap.json`;

const fieldRef = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

// The script the template runs, with the shell's own variables left for the shell.
const bootstrapScript = [
  'NODE_ID="sidecar~${INSTANCE_IP}~${POD_NAME}.${POD_NAMESPACE}~cluster.local"',
  'SERVER_URI="dns:///istiod.${ISTIO_NAMESPACE}.svc:15010"',
  "echo '",
  '{',
  '  "xds_servers": [',
  '    {',
  '      "server_uri": "\'${SERVER_URI}\'",',
  '      "channel_creds": [{"type": "insecure"}],',
  '      "server_features" : ["xds_v3"]',
  '    }',
  '  ],',
  '  "node": {',
  '    "id": "\'${NODE_ID}\'",',
  '    "metadata": {',
  '      "GENERATOR": "grpc"',
  '    }',
  '  }',
  "}' > /var/lib/grpc/data/bootstrap.json",
].join('\n');

/** grpc-simple's init container: writes the bootstrap that points the gRPC library at istiod's plaintext port. */
export function grpcBootstrapInit(config: InjectorConfig): V1Container {
  return {
    name: 'grpc-bootstrap-init',
    image: 'busybox:1.28',
    volumeMounts: [{ mountPath: bootstrapDirectory, name: grpcBootstrapVolume }],
    env: [
      fieldRef('INSTANCE_IP', 'status.podIP'),
      fieldRef('POD_NAME', 'metadata.name'),
      fieldRef('POD_NAMESPACE', 'metadata.namespace'),
      // A YAML block scalar in the template: the namespace and a newline (a leading space would be kept too).
      { name: 'ISTIO_NAMESPACE', value: `${config.istioNamespace}\n` },
    ],
    command: ['sh', '-c', bootstrapScript],
  };
}

/** What grpc-simple adds to each app container (the pod's own istio-proxy excepted): where the bootstrap is. */
export function grpcSimpleAppPatch(name: string): V1Container {
  return {
    name,
    env: [
      { name: 'GRPC_XDS_BOOTSTRAP', value: bootstrapFile },
      { name: 'GRPC_GO_LOG_VERBOSITY_LEVEL', value: '99' },
      { name: 'GRPC_GO_LOG_SEVERITY_LEVEL', value: 'info' },
    ],
    volumeMounts: [{ mountPath: bootstrapDirectory, name: grpcBootstrapVolume }],
  };
}

export function grpcSimpleVolumes(): V1Volume[] {
  return [{ name: grpcBootstrapVolume, emptyDir: {} }];
}

export function appContainerNames(containers: readonly V1Container[]): string[] {
  return containers.map((container) => container.name).filter((name) => name !== proxyContainerName);
}
