// The observability kit of config/prometheus as the tests read it: the PrometheusRule, the
// dashboard's queries and variables, and the concrete values Grafana would put in for them.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../harness/binaries.ts';

export const KIT_DIR = join(PROJECT_ROOT, 'config', 'prometheus');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export interface PrometheusRule {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: { groups: RuleGroup[] };
}

export function loadPrometheusRule(): PrometheusRule {
  return parse(readFileSync(join(KIT_DIR, 'alerts.yaml'), 'utf8')) as PrometheusRule;
}

export function alertRules(rule = loadPrometheusRule()): AlertRule[] {
  return rule.spec.groups.flatMap((group) => group.rules);
}

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { type?: string; uid?: string };
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: DashboardVariable[] };
  panels: DashboardPanel[];
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(join(KIT_DIR, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
}

/** Every panel, those inside collapsed rows too. */
export function allPanels(dashboard = loadDashboard()): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

export function dashboardQueries(dashboard = loadDashboard()): PanelQuery[] {
  return allPanels(dashboard).flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, refId: target.refId, expr: target.expr })));
}

export function variableQuery(variable: DashboardVariable): string {
  return typeof variable.query === 'string' ? variable.query : variable.query.query;
}

/** The Rollout the synthetic series describe, as Grafana's variables would name it. */
export const EXAMPLE = { namespace: 'shop', rollout: 'payments', host: 'payments', service: 'payments.shop.svc.cluster.local' } as const;

/**
 * Puts concrete values where Grafana interpolates. The windows are short because the test's
 * Prometheus scrapes every second and has only just started.
 */
export function concrete(expr: string, windows: { rateInterval: string; range: string } = { rateInterval: '10s', range: '1m' }): string {
  const values: Record<string, string> = {
    namespace: EXAMPLE.namespace, rollout: EXAMPLE.rollout, service: EXAMPLE.service,
    __rate_interval: windows.rateInterval, __range: windows.range, __interval: windows.rateInterval,
  };
  const result = expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => values[braced ?? bare ?? ''] ?? whole);
  if (result.includes('$')) throw new Error(`unknown template variable left in: ${result}`);
  return result;
}

/** `label_values(selector, label)`, Grafana's variable query, as its two parts. */
export function parseLabelValues(query: string): { selector: string; label: string } | undefined {
  const match = /^label_values\((.*),\s*(\w+)\)$/.exec(query.trim());
  return match ? { selector: match[1]!.trim(), label: match[2]! } : undefined;
}

/** GitHub's anchors for the `##` headings of a Markdown file. */
export function markdownAnchors(file: string): Set<string> {
  const headings = readFileSync(file, 'utf8').split('\n').filter((line) => /^#{1,6} /.test(line));
  return new Set(headings.map((line) => line.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')));
}

/** A program on PATH, or undefined. */
export function onPath(program: string): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
    return found !== '' && existsSync(found) ? found : undefined;
  } catch {
    return undefined;
  }
}

/** promtool's stdout and stderr, which say which rule or which test failed. */
export function runPromtool(args: string[], cwd: string): void {
  try {
    execFileSync('promtool', args, { cwd, stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}
