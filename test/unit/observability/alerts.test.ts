// config/prometheus/alerts.yaml: Prometheus accepts every rule, each alert fires (and stays quiet)
// on the synthetic series of test/fixtures/observability/alerts.test.yaml, and each one tells the
// person paged how bad it is, what happened and where the runbook is.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PROJECT_ROOT } from '../../harness/binaries.ts';
import { alertRules, loadPrometheusRule, markdownAnchors, onPath, runPromtool } from './kit.ts';

const FIXTURE = join(PROJECT_ROOT, 'test', 'fixtures', 'observability', 'alerts.test.yaml');
const TROUBLESHOOTING = join(PROJECT_ROOT, 'docs', 'troubleshooting.md');
const SEVERITIES = ['critical', 'warning', 'info'];

interface RulesTestFile {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const scratch = mkdtempSync(join(tmpdir(), 'switchboard-alerts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the alerts', () => {
  const rule = loadPrometheusRule();
  const alerts = alertRules(rule);

  it('are a PrometheusRule with uniquely named alerts', () => {
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size, `duplicates in ${names.join(', ')}`).toBe(names.length);
  });

  it.each(alertRules())('$alert has a severity, a summary, a description and a runbook that exists', (alert) => {
    expect(SEVERITIES).toContain(alert.labels?.severity);
    expect(alert.annotations?.summary?.trim()).toBeTruthy();
    expect(alert.annotations?.description?.trim()).toBeTruthy();
    const runbook = alert.annotations?.runbook_url ?? '';
    const [path, anchor] = runbook.split('#');
    expect(path).toBe('docs/troubleshooting.md');
    expect([...markdownAnchors(TROUBLESHOOTING)], `${runbook}: no such heading in docs/troubleshooting.md`).toContain(anchor);
  });

  it('each fire in the rules test, and each stay quiet in it', () => {
    const tests = parse(readFileSync(FIXTURE, 'utf8')) as RulesTestFile;
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alerts) {
      const own = cases.filter((c) => c.alertname === alert);
      expect(own.some((c) => c.exp_alerts.length > 0), `${alert} never expected to fire`).toBe(true);
      expect(own.some((c) => c.exp_alerts.length === 0), `${alert} never expected to stay quiet`).toBe(true);
    }
    const known = new Set(alerts.map((a) => a.alert));
    expect(cases.map((c) => c.alertname).filter((name) => !known.has(name)), 'cases for alerts that do not exist').toEqual([]);
  });

  // promtool reads rule files (groups), not the PrometheusRule around them.
  it.skipIf(!onPath('promtool'))('pass promtool check rules, annotation templates included', () => {
    writeFileSync(join(scratch, 'alerts.full.yaml'), stringify(rule.spec));
    runPromtool(['check', 'rules', 'alerts.full.yaml'], scratch);
  });

  it.skipIf(!onPath('promtool'))('fire as promtool test rules expects on synthetic series', () => {
    const bare = { groups: rule.spec.groups.map((group) => ({ ...group, rules: group.rules.map(({ annotations: _people, ...r }) => r) })) };
    const tests = parse(readFileSync(FIXTURE, 'utf8')) as RulesTestFile;
    expect(tests.rule_files).toEqual(['alerts.rules.yaml']);
    writeFileSync(join(scratch, 'alerts.rules.yaml'), stringify(bare));
    copyFileSync(FIXTURE, join(scratch, 'alerts.test.yaml'));
    runPromtool(['test', 'rules', 'alerts.test.yaml'], scratch);
  }, 20_000);
});
