// Fields and values Istio's API does not accept, judged against Istio's own CRD schemas. The API
// server refuses such an object under kubectl's default (strict field validation) or, for
// clients that only warn, drops the unknown field: either way the setting never takes effect.
import { finding, type Finding } from '../finding.ts';
import { suggestField } from '../field-suggestions.ts';
import type { MeshObject, ObjectSet } from '../objects.ts';
import type { AnalysisContext, Rule } from '../rule.ts';
import { checkAgainstSchema, type SchemaProblem } from '../schema.ts';
import { groupOf, type SchemaCatalog } from '../istio-schemas.ts';

export const UNKNOWN_FIELD = { code: 'SB0301', name: 'UnknownField', severity: 'error' } as const;
export const INVALID_FIELD_VALUE = { code: 'SB0302', name: 'InvalidFieldValue', severity: 'error' } as const;
export const REFUSED_BY_CRD_RULE = { code: 'SB0303', name: 'RefusedByValidationRule', severity: 'error' } as const;
export const UNSERVED_API_VERSION = { code: 'SB0304', name: 'UnservedApiVersion', severity: 'error' } as const;
export const UNKNOWN_KIND = { code: 'SB0307', name: 'UnknownKind', severity: 'error' } as const;

const SHOWN_FIELDS = 12;

/** Only what a person writes is judged: apiVersion, kind and metadata are the API server's. */
function withoutServerFields(object: MeshObject): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => key !== 'apiVersion' && key !== 'kind' && key !== 'metadata' && key !== 'status'));
}

/** The object's schema problems, or undefined when the catalog has no CRD for its kind. */
export function schemaProblems(object: MeshObject, schemas: SchemaCatalog): SchemaProblem[] | 'unserved-version' | undefined {
  const lookup = schemas.lookup(object.apiVersion, object.kind);
  if (lookup === undefined) return undefined;
  if (!lookup.found) return 'unserved-version';
  return checkAgainstSchema({ ...lookup.schema, required: [] }, withoutServerFields(object));
}

function unknownFieldMessage(object: MeshObject, problem: Extract<SchemaProblem, { kind: 'unknown-field' }>): string {
  const suggestion = suggestField(problem.field, problem.known);
  const where = `${problem.path} is not a field of Istio's ${object.kind} (${object.apiVersion})`;
  const effect = 'kubectl apply refuses the object (strict field validation), and clients that only warn drop the field, so the setting never takes effect';
  if (suggestion !== undefined) return `${where}: ${effect}; rename it to ${suggestion}, the field Istio has for this`;
  const shown = problem.known.slice(0, SHOWN_FIELDS).join(', ');
  const fields = problem.known.length === 0 ? 'it takes no fields there' : `the fields there are ${shown}${problem.known.length > SHOWN_FIELDS ? ', ...' : ''}`;
  return `${where}: ${effect}; remove it (${fields})`;
}

function problemFinding(object: MeshObject, problem: SchemaProblem): Finding {
  switch (problem.kind) {
    case 'unknown-field':
      return finding(UNKNOWN_FIELD, object, unknownFieldMessage(object, problem));
    case 'invalid-value':
      return finding(INVALID_FIELD_VALUE, object, `${problem.path} ${problem.problem}: the API server refuses the object; fix the value as Istio's ${object.kind} reference describes it`);
    case 'rule':
      return finding(REFUSED_BY_CRD_RULE, object, `${problem.path || 'the object'}: ${problem.message}: Istio's CRD refuses the whole object, so none of its settings apply; change it so that the rule holds`);
  }
}

/**
 * A kind no CRD of its Istio API group defines (`kind: Gatway`): the API server has nothing to
 * store it as, and without a schema no other rule would say a word about it.
 */
function unknownKind(object: MeshObject, schemas: SchemaCatalog): Finding[] {
  const group = groupOf(object.apiVersion);
  const kinds = schemas.kindsOf(group);
  if (kinds === undefined) return [];
  const suggestion = suggestField(object.kind, kinds);
  const fix = suggestion === undefined ? `write one of the kinds of ${group}: ${kinds.join(', ')}` : `did you mean ${suggestion}? (the kinds of ${group}: ${kinds.join(', ')})`;
  return [finding(UNKNOWN_KIND, object, `${group} has no kind ${object.kind}: the API server refuses the object ("no matches for kind"), so none of its settings apply; ${fix}`)];
}

export const schemaRule: Rule = {
  definitions: [UNKNOWN_FIELD, INVALID_FIELD_VALUE, REFUSED_BY_CRD_RULE, UNSERVED_API_VERSION, UNKNOWN_KIND],
  check(objects: ObjectSet, context: AnalysisContext): Finding[] {
    return objects.all.flatMap((object) => {
      const problems = schemaProblems(object, context.schemas);
      if (problems === undefined) return unknownKind(object, context.schemas);
      if (problems === 'unserved-version') {
        const lookup = context.schemas.lookup(object.apiVersion, object.kind);
        const served = lookup !== undefined && !lookup.found ? lookup.servedVersions.join(', ') : '';
        return [finding(UNSERVED_API_VERSION, object, `apiVersion ${object.apiVersion} is not served for ${object.kind}: the API server refuses it ("no matches for kind"); use one of the served versions: ${served}`)];
      }
      return problems.map((problem) => problemFinding(object, problem));
    });
  },
};
