// The shapes below are what kube-apiserver 1.34 answers (checked against the local control plane).
import { describe, expect, it } from 'vitest';
import { apiStatusOf, isRefusedWrite } from '../../../src/kube/api-errors.ts';

const apiError = (code: number, body: unknown) => Object.assign(new Error(`HTTP ${code}`), { code, body });

describe('isRefusedWrite', () => {
  it('a failed JSON-patch test (a bare 422 without details) is a stale read, not a refusal', () => {
    const stale = apiError(422, { kind: 'Status', status: 'Failure', message: 'the server rejected our request due to an error in our request', reason: 'Invalid', details: {} });
    expect(isRefusedWrite(stale)).toBe(false);
  });

  it('a validation error names the object and its fields: refused', () => {
    const invalid = apiError(422, JSON.stringify({
      kind: 'Status', reason: 'Invalid',
      message: 'Deployment.apps "payments-canary" is invalid: spec.template.spec.containers[0].name: Invalid value: "Web_1"',
      details: { name: 'payments-canary', group: 'apps', kind: 'Deployment', causes: [{ reason: 'FieldValueInvalid', field: 'spec.template.spec.containers[0].name' }] },
    }));
    expect(isRefusedWrite(invalid)).toBe(true);
    expect(apiStatusOf(invalid)?.message).toContain('spec.template.spec.containers[0].name');
  });

  it('a bad request or an admission denial is refused; conflicts, absences and server errors are not', () => {
    expect(isRefusedWrite(apiError(400, { reason: 'BadRequest', message: 'the name of the object (Bad_Name) does not match the name on the URL (probe)' }))).toBe(true);
    expect(isRefusedWrite(apiError(403, { reason: 'Forbidden', message: 'admission webhook "policy.example" denied the request' }))).toBe(true);
    for (const code of [404, 409, 429, 500]) expect(isRefusedWrite(apiError(code, {}))).toBe(false);
    expect(isRefusedWrite(new Error('connect ECONNREFUSED'))).toBe(false);
  });

  it('a body that is not JSON is kept as the message', () => {
    expect(apiStatusOf(apiError(400, 'plain text'))).toEqual({ code: 400, message: 'plain text' });
  });
});
