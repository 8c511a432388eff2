// Contract between the pure injector core and the webhook transport.
// The transport (src/webhook/) parses AdmissionReview and calls admitPod; everything here is pure.
import type { V1Pod, V1EphemeralContainer } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { InjectorConfig } from './config.ts';

export interface PodAdmissionInput {
  /** The pod as sent in AdmissionReview.request.object (raw JSON, not client-node's class instances). */
  pod: V1Pod;
  /** request.namespace (pods created by controllers often have no metadata.namespace yet). */
  namespace: string;
  /** Labels of that namespace, or undefined when they could not be read. */
  namespaceLabels: Record<string, string> | undefined;
  operation: 'CREATE' | 'UPDATE';
  /** '' for the pod itself, 'ephemeralcontainers' for kubectl debug. */
  subResource: string;
  /** Set for UPDATE: the stored pod before the change. */
  oldPod?: V1Pod;
  /** The webhook's own namespace, never injected. */
  webhookNamespace?: string;
}

export type PodAdmissionResult =
  | { allowed: true; patch: Operation[]; injected: boolean; skipReason?: string; warnings?: string[] }
  | { allowed: false; code: number; reason: string; message: string };

/** Mutating entry point: decide → policy → inject → diff. Never throws on any input. */
export declare function admitPod(input: PodAdmissionInput, config: InjectorConfig): PodAdmissionResult;

/** Validating entry point: only the UID/GID 1337 rule and annotation checks, no patch. */
export declare function validatePod(input: PodAdmissionInput, config: InjectorConfig): PodAdmissionResult;

export type { V1EphemeralContainer };
