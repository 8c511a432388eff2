// AdmissionReview v1 in and out. Parsing is strict and pure: anything the API server would never
// send is a 400 with a reason, so a broken client learns what it got wrong and we never crash.
import type { V1Pod } from '@kubernetes/client-node';
import type { Operation } from 'rfc6902';
import type { PodAdmissionResult } from '../injector/admit.ts';

export interface AdmissionRequestView {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource: string;
  namespace: string;
  operation: string;
  object: V1Pod | undefined;
  oldObject: V1Pod | undefined;
  dryRun: boolean;
}

export type ParsedReview =
  | { ok: true; request: AdmissionRequestView }
  | { ok: false; reason: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const stringField = (record: Record<string, unknown>, key: string): string | undefined =>
  typeof record[key] === 'string' ? (record[key] as string) : undefined;

export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isRecord(body)) return { ok: false, reason: 'body must be a JSON object (an AdmissionReview)' };
  if (body.apiVersion !== 'admission.k8s.io/v1') {
    return { ok: false, reason: `apiVersion must be admission.k8s.io/v1, got ${JSON.stringify(body.apiVersion ?? null)}` };
  }
  if (body.kind !== 'AdmissionReview') return { ok: false, reason: `kind must be AdmissionReview, got ${JSON.stringify(body.kind ?? null)}` };
  const request = body.request;
  if (!isRecord(request)) return { ok: false, reason: 'request is missing or not an object' };
  const uid = stringField(request, 'uid');
  if (!uid) return { ok: false, reason: 'request.uid is missing: the API server matches the response to the request by it' };
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.kind !== 'string' || typeof kind.version !== 'string') {
    return { ok: false, reason: 'request.kind must be a GroupVersionKind object' };
  }
  const operation = stringField(request, 'operation');
  if (!operation) return { ok: false, reason: 'request.operation is missing' };
  const object = request.object;
  if (object !== undefined && object !== null && !isRecord(object)) return { ok: false, reason: 'request.object must be an object' };
  const oldObject = request.oldObject;
  if (oldObject !== undefined && oldObject !== null && !isRecord(oldObject)) return { ok: false, reason: 'request.oldObject must be an object' };
  const resource = isRecord(request.resource) ? request.resource : {};
  return {
    ok: true,
    request: {
      uid,
      kind: { group: String(kind.group ?? ''), version: kind.version, kind: kind.kind },
      resource: { group: String(resource.group ?? ''), version: String(resource.version ?? ''), resource: String(resource.resource ?? '') },
      subResource: stringField(request, 'subResource') ?? '',
      namespace: stringField(request, 'namespace') ?? (isRecord(object) && isRecord(object.metadata) ? String(object.metadata.namespace ?? '') : ''),
      operation,
      object: (object ?? undefined) as V1Pod | undefined,
      oldObject: (oldObject ?? undefined) as V1Pod | undefined,
      dryRun: request.dryRun === true,
    },
  };
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    patchType?: 'JSONPatch';
    patch?: string;
    status?: { code: number; reason: string; message: string };
    warnings?: string[];
  };
}

export function allowResponse(uid: string, patch: Operation[] = [], warnings: string[] = []): AdmissionReviewResponse {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: true,
      ...(patch.length > 0 ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(patch)).toString('base64') } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    },
  };
}

export function denyResponse(uid: string, code: number, reason: string, message: string): AdmissionReviewResponse {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: false, status: { code, reason, message } } };
}

export function responseFor(uid: string, result: PodAdmissionResult): AdmissionReviewResponse {
  return result.allowed
    ? allowResponse(uid, result.patch, result.warnings ?? [])
    : denyResponse(uid, result.code, result.reason, result.message);
}
