// Message templates: what each variable renders to, how each sink takes a template's parts, and
// every way a template or a sink's use of one is refused by the key that is wrong.
import { describe, expect, it } from 'vitest';
import { parseNotificationsConfig, type SinkConfig } from '../../../src/notifications/config.ts';
import { OpenIncidents } from '../../../src/notifications/incidents.ts';
import { requestsFor } from '../../../src/notifications/routing.ts';
import { render, templateProblem } from '../../../src/notifications/templates.ts';
import type { Notification } from '../../../src/notifications/triggers.ts';
import { CANARY, NOW, ROLLED_BACK, STABLE, STARTED } from './notification-fixtures.ts';

describe('template variables', () => {
  const rendered: [string, Notification, string][] = [
    ['{{rollout.namespace}}/{{rollout.name}}', STARTED, 'team-a/payments'],
    ['{{rollout.phase}} at {{rollout.weight}}% step {{rollout.step}}', ROLLED_BACK, 'RolledBack at 20% step 1/4'],
    ['{{rollout.revision}} over {{rollout.stableRevision}}', ROLLED_BACK, `${CANARY} over ${STABLE}`],
    ['{{trigger.name}} ({{trigger.severity}}): {{rollout.reason}}', ROLLED_BACK, 'on-rollout-rolled-back (error): AnalysisFailed'],
    ['{{headline}} at {{at}}', STARTED, `team-a/payments: rollout started (revision ${CANARY}) at ${NOW.toISOString()}`],
    ['{{trigger.description}}', STARTED, 'a new revision starts its rollout (or `retry` starts it again)'],
    ['{{analysis.failedChecks}} of {{analysis.failureLimit}}: {{analysis.summary}}', ROLLED_BACK, '2 of 1: failed checks 2, 1 tolerated'],
    ['{{#analysis.checks}}[{{name}} {{verdict}} {{value}}/{{limit}}]{{/analysis.checks}}', ROLLED_BACK, '[error-rate fail 48.21/5][latency-p99 pass 31/500]'],
    ['{{#analysis.checks}}{{measured}}; {{/analysis.checks}}', ROLLED_BACK, 'error-rate: 48.21 against limit 5: fail; latency-p99: 31 against limit 500: pass; '],
    // A section over an object, and outer names inside a list's items.
    ['{{#analysis}}{{#checks}}{{rollout.name}}:{{name}} {{/checks}}{{/analysis}}', ROLLED_BACK, 'payments:error-rate payments:latency-p99 '],
    ['{{^analysis}}no analysis{{/analysis}}', STARTED, 'no analysis'],
    ['{{#analysis}}analysed{{/analysis}}{{^analysis}}no analysis{{/analysis}}', ROLLED_BACK, 'analysed'],
    ['{{#rollout.step}}step {{.}}{{/rollout.step}}', STARTED, 'step 1/4'],
    // No HTML escaping: the text is not HTML.
    ['{{rollout.message}}', { ...STARTED, message: 'a & <b> "c"' }, 'a & <b> "c"'],
    ['weight {{rollout.weight}}', STARTED, 'weight 0'],
  ];
  it.each(rendered)('%s', (template, notification, expected) => {
    expect(templateProblem(template)).toBeUndefined();
    expect(render(template, notification)).toBe(expected);
  });

  const refused: [string, string][] = [
    ['{{rollout.nmae}}', '{{rollout.nmae}} is not a variable'],
    ['{{name}}', '{{name}} is not a variable'],
    ['{{rollout}}', '{{rollout}} is not a value: name one of its fields'],
    ['{{analysis.checks}}', '{{analysis.checks}} is not a value: name one of its items\' fields in a section'],
    ['{{#analysis.checks}}{{verdikt}}{{/analysis.checks}}', '{{verdikt}} is not a variable'],
    ['{{#rollout}}', 'Unclosed section "rollout"'],
    ['{{/rollout}}', 'Unopened section "rollout"'],
    ['{{rollout.name', 'Unclosed tag'],
    ['{{> footer}}', '{{> footer}}: partials are not supported'],
  ];
  it.each(refused)('refuses %s', (template, expected) => {
    expect(templateProblem(template)).toContain(expected);
  });
});

const SECRET = { 'slack-url': 'https://hooks.slack.com/services/T0/B0/xyz', 'pd-key': 'R0UTINGKEY' };

describe('templates in the notifications ConfigMap', () => {
  const config = parseNotificationsConfig({
    'template.short': [
      'message: "*{{rollout.name}}* {{trigger.name}} <https://ci.example/{{rollout.revision}}|build> {{rollout.message}}"',
      'webhook:',
      '  body:',
      '    text: "{{headline}}"',
      '    tags: ["{{rollout.namespace}}", "{{trigger.severity}}"]',
      '    weight: "{{rollout.weight}}"',
      '    fixed: 3',
      'alertmanager:',
      '  annotations:',
      '    runbook_url: "https://runbooks.example/{{rollout.namespace}}/{{rollout.name}}"',
      '    description: "{{#analysis.checks}}{{measured}}\\n{{/analysis.checks}}"',
    ].join('\n'),
    'template.page': 'message: "PAGE {{rollout.name}}: {{trigger.name}}"',
    'service.slack': 'url: $slack-url\ntemplate: short',
    'service.teams': 'url: https://example.webhook.office.com/w\ntemplate: short',
    'service.pagerduty': 'routingKey: $pd-key\ntemplate: short\ntemplates:\n  on-rollout-rolled-back: page',
    'service.alertmanager': 'url: http://alertmanager:9093\ntemplate: short',
    'service.webhook': 'url: https://hooks.example/x\ntemplate: short',
    'service.webhook.plain': 'url: https://hooks.example/y\ntemplates:\n  on-rollout-started: short',
  }, SECRET);
  const sink = (name: string): SinkConfig => config.sinks.get(name)!;
  const body = (notification: Notification, name: string) => JSON.parse(requestsFor(notification, sink(name), new OpenIncidents(), NOW)[0]!.body!) as unknown;
  const message = `the canary & <friends>`;
  const told = { ...ROLLED_BACK, trigger: 'on-analysis-failed', severity: 'warn', message } satisfies Notification;
  const expected = `*payments* on-analysis-failed <https://ci.example/${CANARY}|build> ${message}`;

  it('accepts the templates and the sinks that use them', () => {
    expect(config.problems).toEqual([]);
    expect([...config.templates.keys()]).toEqual(['short', 'page']);
    expect(sink('pagerduty').triggerTemplates?.['on-rollout-rolled-back']?.name).toBe('page');
  });

  /** A part of a JSON body by its path ("attachments.0.blocks"); "" is the whole. */
  const at = (value: unknown, path: string): unknown =>
    path === '' ? value : path.split('.').reduce<unknown>((part, key) => (part as Record<string, unknown> | undefined)?.[key], value);
  const slackText = `*payments* on-analysis-failed <https://ci.example/${CANARY}|build> the canary &amp; &lt;friends&gt;`;
  const bySink: [string, string, unknown][] = [
    // Slack escapes the variables' control characters, not the template's own link.
    ['slack', 'text', slackText],
    ['slack', 'attachments.0.blocks.0.text.text', slackText],
    ['slack', 'attachments.0.blocks.1', expect.objectContaining({ fields: expect.arrayContaining([{ type: 'mrkdwn', text: '*Reason*\nAnalysisFailed' }]) })],
    ['teams', 'attachments.0.content.body.0', { type: 'TextBlock', text: expected, color: 'Warning', wrap: true }],
    ['teams', 'attachments.0.content.body.1.type', 'FactSet'],
    ['pagerduty', 'payload.summary', expected],
    ['pagerduty', 'payload.custom_details.reason', 'AnalysisFailed'],
    ['alertmanager', '0.annotations', {
      summary: expected, reason: 'AnalysisFailed', canary_weight: '20%',
      runbook_url: 'https://runbooks.example/team-a/payments',
      description: 'error-rate: 48.21 against limit 5: fail\nlatency-p99: 31 against limit 500: pass\n',
    }],
    ['alertmanager', '0.labels', { alertname: 'AnalysisFailed', namespace: 'team-a', rollout: 'payments', revision: CANARY, severity: 'warning' }],
    ['webhook', '', { text: `team-a/payments: analysis failed (revision ${CANARY})`, tags: ['team-a', 'warn'], weight: '20', fixed: 3 }],
  ];
  it.each(bySink)('%s renders the template: %s', (name, path, value) => {
    expect(at(body(told, name), path)).toEqual(value);
  });

  it('uses a trigger\'s own template before the sink\'s, and the sink\'s own format without either', () => {
    expect(body(ROLLED_BACK, 'pagerduty')).toMatchObject({ payload: { summary: 'PAGE payments: on-rollout-rolled-back' } });
    expect(body({ ...STARTED }, 'plain')).toEqual({ text: `team-a/payments: rollout started (revision ${CANARY})`, tags: ['team-a', 'info'], weight: '0', fixed: 3 });
    expect(body(ROLLED_BACK, 'plain')).toMatchObject({ version: 1, trigger: 'on-rollout-rolled-back', rollout: { name: 'payments' } });
  });

  it('keeps the sink\'s own words where a message renders blank, as the services refuse empty text', () => {
    const blank = parseNotificationsConfig({
      'template.blank': 'message: "{{#analysis}}{{analysis.summary}}{{/analysis}} "',
      'service.slack': 'url: https://x\ntemplate: blank', 'service.pagerduty': 'routingKey: k\ntemplate: blank',
    }, {});
    expect(blank.problems).toEqual([]);
    const render = (n: Notification, name: string) => JSON.parse(requestsFor(n, blank.sinks.get(name)!, new OpenIncidents(), NOW)[0]!.body!) as unknown;
    expect(render(STARTED, 'slack')).toMatchObject({ text: `team-a/payments: rollout started (revision ${CANARY})` });
    expect(render({ ...ROLLED_BACK, trigger: 'on-analysis-failed', severity: 'warn' }, 'pagerduty')).toMatchObject({ payload: { summary: 'failed checks 2, 1 tolerated ' } });
    expect(render({ ...ROLLED_BACK, analysis: undefined }, 'pagerduty')).toMatchObject({ payload: { summary: expect.stringContaining('team-a/payments: rolled back') } });
  });

  const problems: [string, Record<string, string>, string[]][] = [
    ['a template that does not parse', { 'template.t': 'message: "{{#rollout}}"' }, ['template.t: message: Unclosed section "rollout"']],
    ['an unknown variable', { 'template.t': 'message: "{{rollout.nmae}}"' }, ['template.t: message: {{rollout.nmae}} is not a variable']],
    ['an unknown variable deep in a webhook body', { 'template.t': 'webhook:\n  body:\n    items: [{ a: "{{x}}" }]' }, ['template.t: webhook.body.items[0].a: {{x}} is not a variable']],
    ['a template that is YAML but not a template', { 'template.t': 'just text' }, ['template.t: must be object']],
    ['a template with nothing in it', { 'template.t': '{}' }, ['template.t: a template needs message, webhook.body or alertmanager.annotations']],
    ['a setting no template has', { 'template.t': 'message: x\ntitle: y' }, ['template.t: title is not a setting of a template']],
    ['a webhook part without a body', { 'template.t': 'webhook:\n  method: PUT' }, ['template.t: webhook: body is required', 'webhook: method is not a setting of a template']],
    ['an annotation name Alertmanager refuses', { 'template.t': 'alertmanager:\n  annotations:\n    run-book: x' }, ['template.t: alertmanager.annotations: run-book is not an annotation name']],
    ['YAML that does not parse', { 'template.t': 'message: [' }, ['template.t: not valid YAML']],
    ['a sink naming a template nobody defined', { 'service.slack': 'url: $slack-url\ntemplate: nope' }, ['service.slack: template: no key template.nope in the notifications ConfigMap']],
    ['a sink naming a refused template', { 'template.bad': 'message: "{{oops}}"', 'service.slack': 'url: $slack-url\ntemplate: bad' }, [
      'template.bad: message: {{oops}} is not a variable', 'service.slack: template: template bad is refused (see template.bad)',
    ]],
    ['a sink naming a template without its part', { 'template.t': 'message: hi', 'service.webhook': 'url: https://x\ntemplate: t' }, [
      'service.webhook: template: template t has no webhook.body, which a webhook sink renders',
    ]],
    ['a Slack sink naming a template with a webhook body only', { 'template.t': 'webhook:\n  body: {}', 'service.slack': 'url: https://x\ntemplates:\n  on-rollout-started: t' }, [
      'service.slack: templates.on-rollout-started: template t has no message, which a slack sink renders',
    ]],
    ['a template for a trigger that does not exist', { 'template.t': 'message: hi', 'service.slack': 'url: https://x\ntemplates:\n  on-rollout-exploded: t' }, [
      'service.slack: templates: on-rollout-exploded is not a trigger: use one of on-rollout-started',
    ]],
    ['a paging sink\'s template for news it never sends', { 'template.t': 'message: hi', 'service.pagerduty': 'routingKey: $pd-key\ntemplates:\n  on-rollout-completed: t' }, [
      'service.pagerduty: templates.on-rollout-completed: a pagerduty sink sends no message for on-rollout-completed',
    ]],
    ['a template name that cannot be a key', { 'service.slack': 'url: https://x\ntemplate: Short_One' }, ['service.slack: template: not a template name']],
  ];
  it.each(problems)('refuses %s, naming the key', (_name, data, expected) => {
    const refusedConfig = parseNotificationsConfig(data, SECRET);
    expect(refusedConfig.problems).toHaveLength(expected.length > 1 && expected[1]!.startsWith('service.') ? 2 : 1);
    for (const [index, text] of expected.entries()) expect(refusedConfig.problems.join('\n'), `problem ${index}`).toContain(text);
    expect(refusedConfig.sinks.size).toBe(0);
    for (const problem of refusedConfig.problems) {
      const template = /^template\.([^:]+):/.exec(problem)?.[1];
      if (template !== undefined) expect(refusedConfig.templates.has(template)).toBe(false);
    }
  });

  it('refuses the sink that names a refused template, so its subscribers are told it is refused', () => {
    const refusedConfig = parseNotificationsConfig({ 'template.bad': 'message: "{{#x}}"', 'service.slack': 'url: $slack-url\ntemplate: bad', 'service.teams': 'url: https://x' }, SECRET);
    expect([...refusedConfig.refused]).toEqual(['slack']);
    expect([...refusedConfig.sinks.keys()]).toEqual(['teams']);
  });
});
