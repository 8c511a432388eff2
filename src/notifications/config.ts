// Where notifications go: the shape Argo Rollouts' notifications users know. A ConfigMap holds
// one `service.<type>` or `service.<type>.<name>` key per sink, its YAML naming values of a Secret
// of the same name as `$key`, so that webhook URLs and routing keys never sit in the ConfigMap.
// Each sink is validated on its own: one bad sink is reported and the others keep working.
// `template.<name>` keys hold message templates (templates.ts) that a sink's `template` or
// `templates` settings use; a sink naming a template that is absent or refused is refused too.
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { parseDuration } from '../rollout/durations.ts';
import { buildTemplate, type MessageTemplate } from './templates.ts';
import { TRIGGER_NAMES, TRIGGERS, type TriggerName } from './triggers.ts';

export const SINK_TYPES = ['webhook', 'slack', 'teams', 'pagerduty', 'alertmanager'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** Sinks that open an incident or alert and resolve it when the rollout later succeeds. */
export const INCIDENT_SINKS: ReadonlySet<SinkType> = new Set(['pagerduty', 'alertmanager']);

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
const DEFAULT_TIMEOUT_SECONDS = 10;
const DEFAULT_ALERT_EXPIRY = '24h';

interface SinkBase {
  name: string;
  timeoutMs: number;
  caBundle?: string;
  /** The Secret's values this sink uses: never logged, and cut out of any answer that is. */
  secrets: string[];
  /** The template of every trigger but those in triggerTemplates. */
  template?: MessageTemplate;
  triggerTemplates?: Partial<Record<TriggerName, MessageTemplate>>;
}

export type SinkConfig = SinkBase & (
  | { type: 'webhook'; url: string; headers: { name: string; value: string }[]; bearerToken?: string; hmacSecret?: string }
  | { type: 'slack'; url: string }
  | { type: 'teams'; url: string }
  | { type: 'pagerduty'; url: string; routingKey: string }
  | { type: 'alertmanager'; url: string; bearerToken?: string; alertExpiryMs: number }
);

export interface NotificationsConfig {
  sinks: Map<string, SinkConfig>;
  /** The templates that were accepted, by name. */
  templates: Map<string, MessageTemplate>;
  /** One line per thing wrong, naming the ConfigMap key; empty when all is well. */
  problems: string[];
  /** Sinks defined but refused for a problem: a subscription to one is told so, not "unknown". */
  refused: Set<string>;
}

const NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const templateName = { type: 'string', pattern: NAME_PATTERN } as const;
const common = {
  timeoutSeconds: { type: 'integer', minimum: 1, maximum: 60 },
  caBundle: { type: 'string', minLength: 1 },
  template: templateName,
  templates: { type: 'object', minProperties: 1, propertyNames: { enum: TRIGGER_NAMES }, additionalProperties: templateName },
} as const;
const url = { type: 'string', minLength: 1 } as const;

const SCHEMAS: Record<SinkType, object> = {
  webhook: {
    type: 'object', additionalProperties: false, required: ['url'],
    properties: {
      url, ...common,
      headers: {
        type: 'array',
        items: {
          type: 'object', additionalProperties: false, required: ['name', 'value'],
          properties: { name: { type: 'string', pattern: '^[A-Za-z0-9-]+$' }, value: { type: 'string' } },
        },
      },
      bearerToken: { type: 'string', minLength: 1 },
      hmacSecret: { type: 'string', minLength: 1 },
    },
  },
  slack: { type: 'object', additionalProperties: false, required: ['url'], properties: { url, ...common } },
  teams: { type: 'object', additionalProperties: false, required: ['url'], properties: { url, ...common } },
  pagerduty: { type: 'object', additionalProperties: false, required: ['routingKey'], properties: { url, routingKey: { type: 'string', minLength: 1 }, ...common } },
  alertmanager: {
    type: 'object', additionalProperties: false, required: ['url'],
    properties: { url, bearerToken: { type: 'string', minLength: 1 }, alertExpiry: { type: 'string', pattern: '^([0-9]+h)?([0-9]+m)?([0-9]+s)?$', minLength: 2 }, ...common },
  },
};

// Compiled once: a reload costs no schema work.
const ajv = new Ajv({ allErrors: true, strict: true });
const VALIDATORS = Object.fromEntries(SINK_TYPES.map((type) => [type, ajv.compile(SCHEMAS[type])])) as Record<SinkType, ReturnType<typeof ajv.compile>>;

const KEY = /^service\.([a-z]+)(?:\.([a-z0-9]([-a-z0-9]*[a-z0-9])?))?$/;
const TEMPLATE_KEY = /^template\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

/** What of a template each sink renders: a template without it would be taken and ignored. */
const TEMPLATE_PARTS: Record<SinkType, { has: (template: MessageTemplate) => boolean; names: string }> = {
  webhook: { has: (t) => t.webhookBody !== undefined, names: 'webhook.body' },
  slack: { has: (t) => t.message !== undefined, names: 'message' },
  teams: { has: (t) => t.message !== undefined, names: 'message' },
  pagerduty: { has: (t) => t.message !== undefined, names: 'message' },
  alertmanager: { has: (t) => t.message !== undefined || t.alertmanagerAnnotations !== undefined, names: 'message or alertmanager.annotations' },
};

function describeError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '' : `${error.instancePath.slice(1).replaceAll('/', '.')}: `;
  if (error.keyword === 'additionalProperties') return `${at}${String(error.params.additionalProperty)} is not a setting of this sink`;
  if (error.keyword === 'required') return `${at}${String(error.params.missingProperty)} is required`;
  if (error.keyword === 'propertyNames') return `${at}${String(error.params.propertyName)} is not a trigger: use one of ${TRIGGER_NAMES.join(', ')}`;
  if (error.keyword === 'pattern' && at.startsWith('template')) return `${at}not a template name`;
  return `${at}${error.message ?? 'invalid'}`;
}

/** `$key` strings replaced by the Secret's values; an unknown key is a problem, never an empty value. */
function resolveSecrets(value: unknown, secret: Readonly<Record<string, string>>, used: string[], missing: Set<string>): unknown {
  if (typeof value === 'string' && value.startsWith('$')) {
    const key = value.slice(1);
    const found = secret[key];
    if (found === undefined) missing.add(key);
    else used.push(found);
    return found ?? '';
  }
  if (Array.isArray(value)) return value.map((item) => resolveSecrets(item, secret, used, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveSecrets(item, secret, used, missing)]));
  }
  return value;
}

function httpUrlProblem(text: string): string | undefined {
  try {
    const parsed = new URL(text);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? undefined : 'url must be an http or https URL';
  } catch {
    return 'url is not a URL';
  }
}

/** Headers the webhook sets itself: one given in `headers` too would be overridden, so it is refused. */
function headerTaken(headers: readonly { name: string }[], bearer: boolean): string | undefined {
  const own = ['content-type', 'x-switchboard-delivery', 'x-switchboard-signature', ...(bearer ? ['authorization'] : [])];
  const clash = headers.find((header) => own.includes(header.name.toLowerCase()));
  if (clash === undefined) return undefined;
  return `headers: ${clash.name} is set by the webhook itself${clash.name.toLowerCase() === 'authorization' ? ' from bearerToken' : ''}; remove it`;
}

function buildSink(type: SinkType, name: string, raw: Record<string, unknown>, secrets: string[]): SinkConfig | string {
  const base: SinkBase = {
    name, secrets, timeoutMs: ((raw.timeoutSeconds as number | undefined) ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    ...(raw.caBundle === undefined ? {} : { caBundle: raw.caBundle as string }),
  };
  const target = (raw.url as string | undefined) ?? PAGERDUTY_EVENTS_URL;
  const problem = httpUrlProblem(target);
  if (problem !== undefined) return problem;
  const optional = (key: string) => (raw[key] === undefined ? {} : { [key]: raw[key] as string });
  switch (type) {
    case 'webhook': {
      const taken = headerTaken((raw.headers as { name: string }[] | undefined) ?? [], raw.bearerToken !== undefined);
      if (taken !== undefined) return taken;
      return { ...base, type, url: target, headers: (raw.headers as { name: string; value: string }[] | undefined) ?? [], ...optional('bearerToken'), ...optional('hmacSecret') };
    }
    case 'slack':
      return { ...base, type, url: target };
    case 'teams':
      return { ...base, type, url: target };
    case 'pagerduty':
      return { ...base, type, url: target, routingKey: raw.routingKey as string };
    case 'alertmanager':
      return { ...base, type, url: target, ...optional('bearerToken'), alertExpiryMs: parseDuration((raw.alertExpiry as string | undefined) ?? DEFAULT_ALERT_EXPIRY)! };
  }
}

/** A key's YAML as a value, or why it is not YAML. */
function readYaml(text: string): { parsed: unknown } | { problem: string } {
  const document = parseDocument(text);
  if (document.errors.length > 0) return { problem: `not valid YAML: ${document.errors[0]!.message.split('\n')[0]}` };
  try {
    return { parsed: document.toJS() as unknown };
  } catch (error) {
    return { problem: `not valid YAML: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** The `template.<name>` keys: the templates that are right, and the names of those refused. */
function parseTemplates(data: Readonly<Record<string, string>>, problems: string[]): { templates: Map<string, MessageTemplate>; refused: Set<string> } {
  const templates = new Map<string, MessageTemplate>();
  const refused = new Set<string>();
  for (const [key, text] of Object.entries(data)) {
    const name = TEMPLATE_KEY.exec(key)?.[1];
    if (name === undefined) continue;
    const read = readYaml(text);
    const template = 'problem' in read ? read.problem : buildTemplate(name, read.parsed);
    if (typeof template === 'string') {
      problems.push(`${key}: ${template}`);
      refused.add(name);
    } else {
      templates.set(name, template);
    }
  }
  return { templates, refused };
}

/** The sink's `template` and `templates` settings as templates, or why they are refused. */
function sinkTemplates(
  type: SinkType, raw: Record<string, unknown>, templates: Map<string, MessageTemplate>, refusedTemplates: Set<string>,
): Pick<SinkBase, 'template' | 'triggerTemplates'> | string {
  const find = (setting: string, name: string): MessageTemplate | string => {
    const template = templates.get(name);
    if (template === undefined) {
      return refusedTemplates.has(name)
        ? `${setting}: template ${name} is refused (see template.${name})`
        : `${setting}: no key template.${name} in the notifications ConfigMap`;
    }
    const part = TEMPLATE_PARTS[type];
    return part.has(template) ? template : `${setting}: template ${name} has no ${part.names}, which a ${type} sink renders`;
  };
  const chosen: Pick<SinkBase, 'template' | 'triggerTemplates'> = {};
  if (raw.template !== undefined) {
    const template = find('template', raw.template as string);
    if (typeof template === 'string') return template;
    chosen.template = template;
  }
  if (raw.templates !== undefined) {
    const byTrigger: Partial<Record<TriggerName, MessageTemplate>> = {};
    for (const [trigger, name] of Object.entries(raw.templates as Record<TriggerName, string>)) {
      // Paging sinks send warnings only, and resolve by re-sending what they opened.
      if (INCIDENT_SINKS.has(type) && TRIGGERS[trigger as TriggerName].severity === 'info') {
        return `templates.${trigger}: a ${type} sink sends no message for ${trigger}`;
      }
      const template = find(`templates.${trigger}`, name);
      if (typeof template === 'string') return template;
      byTrigger[trigger as TriggerName] = template;
    }
    chosen.triggerTemplates = byTrigger;
  }
  return chosen;
}

/** The template a sink renders a trigger with, if any. */
export function templateFor(sink: SinkConfig, trigger: TriggerName): MessageTemplate | undefined {
  return sink.triggerTemplates?.[trigger] ?? sink.template;
}

/**
 * The sinks and templates of a ConfigMap's data, their `$key` values taken from the Secret's
 * (decoded) data. Never throws: whatever is wrong is in `problems`, and what is right is usable.
 */
export function parseNotificationsConfig(data: Readonly<Record<string, string>>, secret: Readonly<Record<string, string>>): NotificationsConfig {
  const sinks = new Map<string, SinkConfig>();
  const problems: string[] = [];
  const refused = new Set<string>();
  const { templates, refused: refusedTemplates } = parseTemplates(data, problems);
  for (const [key, text] of Object.entries(data)) {
    if (TEMPLATE_KEY.test(key)) continue;
    const match = KEY.exec(key);
    const type = match?.[1] as SinkType | undefined;
    if (match === null || type === undefined || !SINK_TYPES.includes(type)) {
      problems.push(`${key}: not a key of the notifications ConfigMap: use service.<type>, service.<type>.<name> or template.<name>, type one of ${SINK_TYPES.join(', ')}`);
      continue;
    }
    const name = match[2] ?? type;
    if (sinks.has(name)) {
      problems.push(`${key}: another key already defines the sink ${name}`);
      continue;
    }
    const refuse = (problem: string) => {
      problems.push(`${key}: ${problem}`);
      refused.add(name);
    };
    const read = readYaml(text);
    if ('problem' in read) {
      refuse(read.problem);
      continue;
    }
    const validate = VALIDATORS[type];
    if (!validate(read.parsed)) {
      // A property name's own error comes with the propertyNames one that names it.
      const errors = (validate.errors ?? []).filter((error) => error.propertyName === undefined);
      refuse(errors.map(describeError).join('; '));
      continue;
    }
    const chosen = sinkTemplates(type, read.parsed as Record<string, unknown>, templates, refusedTemplates);
    if (typeof chosen === 'string') {
      refuse(chosen);
      continue;
    }
    const used: string[] = [];
    const missing = new Set<string>();
    const resolved = resolveSecrets(read.parsed, secret, used, missing) as Record<string, unknown>;
    if (missing.size > 0) {
      refuse(`${[...missing].map((k) => `$${k}`).join(', ')} not found in the notifications Secret`);
      continue;
    }
    const sink = buildSink(type, name, resolved, used);
    if (typeof sink === 'string') refuse(sink);
    else sinks.set(name, { ...sink, ...chosen });
  }
  return { sinks, templates, problems, refused };
}
