// Kubernetes label selectors (metav1.LabelSelector) for the injector's neverInjectSelector and
// alwaysInjectSelector, matched as LabelSelectorAsSelector would match them.
import type { V1LabelSelector, V1LabelSelectorRequirement } from '@kubernetes/client-node';

const operators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** Why the selector cannot be used, or undefined when it can (a selector is checked once, at config load). */
export function labelSelectorProblem(selector: V1LabelSelector): string | undefined {
  for (const [index, requirement] of (selector.matchExpressions ?? []).entries()) {
    const where = `matchExpressions[${index}]`;
    if (!(operators as readonly string[]).includes(requirement.operator)) return `${where}.operator: got ${JSON.stringify(requirement.operator)}; expected one of ${operators.join(', ')}`;
    const needsValues = requirement.operator === 'In' || requirement.operator === 'NotIn';
    const count = requirement.values?.length ?? 0;
    if (needsValues && count === 0) return `${where}.values: ${requirement.operator} needs at least one value`;
    if (!needsValues && count > 0) return `${where}.values: ${requirement.operator} takes no values`;
  }
  return undefined;
}

/** An empty selector matches nothing here: Istio skips empty injection selectors rather than matching every pod. */
export function selectorMatches(selector: V1LabelSelector, labels: Record<string, string>): boolean {
  const matchLabels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (matchLabels.length === 0 && expressions.length === 0) return false;
  return matchLabels.every(([key, value]) => labels[key] === value) && expressions.every((requirement) => requirementMatches(requirement, labels));
}

function requirementMatches(requirement: V1LabelSelectorRequirement, labels: Record<string, string>): boolean {
  const present = Object.hasOwn(labels, requirement.key);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return present && values.includes(labels[requirement.key] ?? '');
    case 'NotIn':
      return !present || !values.includes(labels[requirement.key] ?? '');
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    default:
      return false;
  }
}
