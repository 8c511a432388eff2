// Message templates: `template.<name>` keys of the notifications ConfigMap, in Mustache
// (mustache.github.io): logic-less, so a template reads the notification and runs nothing.
// Every tag is checked when the configuration loads, against the variables a notification has:
// a typo is refused by the key's name, never rendered as an empty string on the day of a rollback.
import Mustache from 'mustache';
import { Ajv, type ErrorObject } from 'ajv';
import { analysisSummary, headline, measuredLine } from './sinks/describe.ts';
import { TRIGGERS, type Notification } from './triggers.ts';

export interface MessageTemplate {
  name: string;
  /** Slack's and Teams' text, PagerDuty's summary, Alertmanager's summary annotation. */
  message?: string;
  /** The generic webhook's JSON body: any YAML value, each string in it a template. */
  webhookBody?: unknown;
  /** Alertmanager annotations, added to the sink's own (or replacing one of the same name). */
  alertmanagerAnnotations?: Record<string, string>;
}

/** A variable's shape: a value, an object of variables, or a list of one shape. */
type Shape = 'value' | { readonly [key: string]: Shape } | readonly [Shape];

const CHECK: Shape = { name: 'value', verdict: 'value', value: 'value', limit: 'value', message: 'value', measured: 'value' };

/** What a template may name; templateView() fills it from a notification. */
export const VARIABLES: Shape = {
  trigger: { name: 'value', severity: 'value', description: 'value' },
  rollout: {
    namespace: 'value', name: 'value', phase: 'value', weight: 'value', step: 'value',
    revision: 'value', stableRevision: 'value', reason: 'value', message: 'value',
  },
  headline: 'value',
  at: 'value',
  analysis: { failedChecks: 'value', failureLimit: 'value', summary: 'value', checks: [CHECK] },
};

/** The view a template renders: the notification under the names of VARIABLES. */
export function templateView(notification: Notification): object {
  const { analysis } = notification;
  return {
    trigger: { name: notification.trigger, severity: notification.severity, description: TRIGGERS[notification.trigger].description },
    rollout: {
      ...notification.rollout, phase: notification.phase, weight: notification.canaryWeight, step: notification.step,
      revision: notification.revision, stableRevision: notification.stableRevision, reason: notification.reason, message: notification.message,
    },
    headline: headline(notification),
    at: notification.at,
    ...(analysis === undefined ? {} : {
      analysis: {
        failedChecks: analysis.failedChecks, failureLimit: analysis.failureLimit, summary: analysisSummary(notification),
        checks: analysis.checks.map((check) => ({ ...check, measured: measuredLine(check) })),
      },
    }),
  };
}

/** Mustache's lookup: the first frame, innermost out, holding the name's first part decides. */
function lookup(name: string, frames: readonly Shape[]): Shape | undefined {
  if (name === '.') return frames.at(-1);
  const [first, ...rest] = name.split('.');
  for (let i = frames.length - 1; i >= 0; i--) {
    const frame = frames[i]!;
    if (typeof frame !== 'object' || Array.isArray(frame) || !Object.hasOwn(frame, first!)) continue;
    let shape: Shape | undefined = (frame as Record<string, Shape>)[first!];
    for (const part of rest) {
      shape = shape !== undefined && typeof shape === 'object' && !Array.isArray(shape) && Object.hasOwn(shape, part)
        ? (shape as Record<string, Shape>)[part] : undefined;
    }
    return shape;
  }
  return undefined;
}

type Spans = ReturnType<typeof Mustache.parse>;

function checkSpans(spans: Spans, frames: readonly Shape[], problems: Set<string>): void {
  for (const span of spans) {
    const [type, name] = span;
    if (type === 'text' || type === '!' || type === '=') continue;
    if (type === '>') {
      problems.add(`{{> ${name}}}: partials are not supported`);
      continue;
    }
    const shape = lookup(name, frames);
    if (shape === undefined) {
      problems.add(`{{${name}}} is not a variable`);
      continue;
    }
    if (type === '#' || type === '^') {
      // A section over a list renders once per item, over an object inside it; an inverted one
      // keeps the context it is in.
      const inner = type === '^' ? frames : [...frames, Array.isArray(shape) ? shape[0] : shape];
      checkSpans(span[4] as Spans, inner, problems);
    } else if (shape !== 'value') {
      problems.add(`{{${name}}} is not a value: name one of its ${Array.isArray(shape) ? 'items\' fields in a section' : 'fields'}`);
    }
  }
}

/** Why a template text is refused, or undefined when it parses and names only variables. */
export function templateProblem(text: string): string | undefined {
  let spans: Spans;
  try {
    spans = Mustache.parse(text);
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
  const problems = new Set<string>();
  checkSpans(spans, [VARIABLES], problems);
  return problems.size === 0 ? undefined : [...problems].join('; ');
}

/** Renders with no HTML escaping: `escape` is the sink's own (Slack's mrkdwn), for variables only. */
export function render(text: string, notification: Notification, escape: (value: string) => string = (value) => value): string {
  return Mustache.render(text, templateView(notification), {}, { escape: (value: unknown) => escape(String(value)) });
}

/**
 * A template's message rendered, or undefined without one, or when it renders blank (only
 * variables this notification lacks): the sink's own words then, as services refuse empty text.
 */
export function renderMessage(template: MessageTemplate | undefined, notification: Notification, escape?: (value: string) => string): string | undefined {
  if (template?.message === undefined) return undefined;
  const text = render(template.message, notification, escape);
  return text.trim() === '' ? undefined : text;
}

/** Every string in a YAML value rendered; the rest kept as it is. */
export function renderValue(value: unknown, notification: Notification): unknown {
  if (typeof value === 'string') return render(value, notification);
  if (Array.isArray(value)) return value.map((item) => renderValue(item, notification));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, renderValue(item, notification)]));
  }
  return value;
}

/** Each template string of a YAML value with its problem, by where it is ("webhook.body.text"). */
function valueProblems(value: unknown, at: string): string[] {
  if (typeof value === 'string') {
    const problem = templateProblem(value);
    return problem === undefined ? [] : [`${at}: ${problem}`];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => valueProblems(item, `${at}[${index}]`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => valueProblems(item, `${at}.${key}`));
  return [];
}

const SCHEMA = {
  type: 'object', additionalProperties: false, minProperties: 1,
  properties: {
    message: { type: 'string', minLength: 1 },
    webhook: { type: 'object', additionalProperties: false, required: ['body'], properties: { body: {} } },
    alertmanager: {
      type: 'object', additionalProperties: false, required: ['annotations'],
      properties: {
        annotations: {
          type: 'object', minProperties: 1, additionalProperties: { type: 'string' },
          // Alertmanager's label and annotation names.
          propertyNames: { pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' },
        },
      },
    },
  },
} as const;
const validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);

const SETTINGS: Record<string, string> = { '/webhook': 'body', '/alertmanager': 'annotations' };

function describeError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '' : `${error.instancePath.slice(1).replaceAll('/', '.')}: `;
  if (error.keyword === 'additionalProperties') {
    const settings = SETTINGS[error.instancePath] ?? 'message, webhook or alertmanager';
    return `${at}${String(error.params.additionalProperty)} is not a setting of a template: use ${settings}`;
  }
  if (error.keyword === 'required') return `${at}${String(error.params.missingProperty)} is required`;
  if (error.keyword === 'minProperties' && at === '') return 'a template needs message, webhook.body or alertmanager.annotations';
  if (error.keyword === 'propertyNames') return `${at}${String(error.params.propertyName)} is not an annotation name`;
  return `${at}${error.message ?? 'invalid'}`;
}

/** A `template.<name>` key's parsed YAML as a template, or why it is refused. */
export function buildTemplate(name: string, parsed: unknown): MessageTemplate | string {
  // A property name's own error comes with the propertyNames one that names it.
  if (!validate(parsed)) return (validate.errors ?? []).filter((e) => e.propertyName === undefined).map(describeError).join('; ');
  const raw = parsed as { message?: string; webhook?: { body: unknown }; alertmanager?: { annotations: Record<string, string> } };
  const problems = [
    ...valueProblems(raw.message, 'message'),
    ...valueProblems(raw.webhook?.body, 'webhook.body'),
    ...valueProblems(raw.alertmanager?.annotations, 'alertmanager.annotations'),
  ];
  if (problems.length > 0) return problems.join('; ');
  return {
    name,
    ...(raw.message === undefined ? {} : { message: raw.message }),
    ...(raw.webhook === undefined ? {} : { webhookBody: raw.webhook.body }),
    ...(raw.alertmanager === undefined ? {} : { alertmanagerAnnotations: raw.alertmanager.annotations }),
  };
}
