// JWKS fetches (SB20xx): istiod fetches the JSON Web Key Set of every RequestAuthentication's issuer
// from the URI the policy gives (or that the issuer's discovery document gives). Unless istiod's
// BLOCKED_CIDRS_IN_JWKS_URIS lists the ranges it must not reach, whoever may write a
// RequestAuthentication can make istiod send requests to internal addresses. istiod's environment
// is read where Istio's analyzer reads it, the istiod Deployment; without one in the input, from
// pilot.env of --values-file (the chart turns each entry into a variable of istiod's container).
import { finding, type Finding } from '../finding.ts';
import { isRecord, records, type MeshObject, type ObjectSet } from '../objects.ts';
import type { AnalysisContext, InjectorValues, Rule } from '../rule.ts';

export const JWKS_URI_FETCH_UNRESTRICTED = { code: 'SB2001', name: 'JwksUriFetchUnrestricted', severity: 'warning' } as const;

const BLOCKED_CIDRS = 'BLOCKED_CIDRS_IN_JWKS_URIS';
/** How many RequestAuthentications a message names before "and N more". */
const NAMED_POLICIES = 5;

/** The first JWT rule whose keys are not written inline, which istiod fetches; -1 for none. */
function fetchedRule(policy: MeshObject): number {
  return records(policy.spec?.jwtRules).findIndex((rule) => typeof rule.jwks !== 'string' || rule.jwks === '');
}

const fetchesKeys = (policy: MeshObject) => fetchedRule(policy) >= 0;

function describePolicies(policies: readonly MeshObject[]): string {
  const names = policies.map((policy) => `${policy.metadata.namespace}/${policy.metadata.name}`).sort();
  const more = names.length > NAMED_POLICIES ? ` and ${names.length - NAMED_POLICIES} more` : '';
  return `${policies.length === 1 ? 'RequestAuthentication' : `${policies.length} RequestAuthentications`} ${names.slice(0, NAMED_POLICIES).join(', ')}${more}`;
}

/** Where istiod fetches the rule's keys: its jwksUri, else the issuer's OpenID discovery document. */
function keySource(policy: MeshObject): string {
  const rule = records(policy.spec?.jwtRules)[fetchedRule(policy)] ?? {};
  if (typeof rule.jwksUri === 'string' && rule.jwksUri !== '') return rule.jwksUri;
  return typeof rule.issuer === 'string' ? `the URI that ${rule.issuer}'s discovery document names` : 'the issuer\'s discovery document';
}

const isIstiod = (deployment: MeshObject) => deployment.metadata.labels?.app === 'istiod';

/**
 * Whether the Deployment sets the variable: a non-empty value, or one from a Secret or ConfigMap
 * (analyze cannot read it, so it counts as set). A container with envFrom may set it too.
 */
function setsBlockedCidrs(deployment: MeshObject): boolean {
  const template = isRecord(deployment.spec?.template) ? deployment.spec.template : {};
  const spec = isRecord(template.spec) ? template.spec : {};
  const sets = (variable: Record<string, unknown>) =>
    variable.name === BLOCKED_CIDRS && ((typeof variable.value === 'string' && variable.value !== '') || isRecord(variable.valueFrom));
  return records(spec.containers).some((container) => records(container.envFrom).length > 0 || records(container.env).some(sets));
}

/** pilot.env (a value the chart prints, so any non-empty one) or pilot.envVarFrom naming the variable. */
function valuesSetBlockedCidrs(injector: InjectorValues): boolean {
  const pilot = isRecord(injector.values.pilot) ? injector.values.pilot : {};
  const value = isRecord(pilot.env) ? pilot.env[BLOCKED_CIDRS] : undefined;
  if (value !== undefined && value !== null && String(value) !== '') return true;
  return records(pilot.envVarFrom).some((variable) => variable.name === BLOCKED_CIDRS);
}

const WHY = 'whoever may write a RequestAuthentication can make istiod send requests to any address its jwksUri names, ' +
  'internal ones included (cloud metadata endpoints, the API server, other services)';

export const jwksRule: Rule = {
  definitions: [JWKS_URI_FETCH_UNRESTRICTED],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    const fetching = objects.ofKind('RequestAuthentication').filter(fetchesKeys);
    if (fetching.length === 0) return [];
    const istiods = objects.ofKind('Deployment').filter(isIstiod);
    if (istiods.length > 0) {
      const policies = describePolicies(fetching);
      return istiods.filter((deployment) => !setsBlockedCidrs(deployment)).map((deployment) => finding(JWKS_URI_FETCH_UNRESTRICTED, deployment,
        `spec.template.spec.containers do not set ${BLOCKED_CIDRS}, and ${policies} make istiod fetch signing keys over the network: ${WHY}; ` +
        `set ${BLOCKED_CIDRS} to the ranges istiod must not fetch from (e.g. "169.254.0.0/16,10.0.0.0/8"), with pilot.env in Istio's values`));
    }
    const { injector } = context;
    // Without istiod's Deployment or its values, analyze cannot tell how istiod is configured.
    if (injector === undefined || valuesSetBlockedCidrs(injector)) return [];
    return fetching.map((policy) => finding(JWKS_URI_FETCH_UNRESTRICTED, policy,
      `istiod fetches the signing keys of spec.jwtRules[${fetchedRule(policy)}] from ${keySource(policy)}, ` +
      `and pilot.env of ${injector.source} does not set ${BLOCKED_CIDRS}: ${WHY}; ` +
      `set pilot.env.${BLOCKED_CIDRS} to the ranges istiod must not fetch from (e.g. "169.254.0.0/16,10.0.0.0/8") and upgrade istiod with those values`));
  },
};
