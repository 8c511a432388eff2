// `kubectl apply -k config/prometheus` ships the whole kit: the ServiceMonitor, the alerts, and the
// dashboard as a ConfigMap that Grafana's dashboard sidecar loads.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../harness/binaries.ts';
import { renderKustomization } from '../../harness/kustomize.ts';
import { KIT_DIR, loadDashboard, loadPrometheusRule, onPath } from './kit.ts';

interface Kustomization {
  namespace?: string;
  resources?: string[];
  configMapGenerator?: { name: string; files?: string[]; options?: { labels?: Record<string, string>; disableNameSuffixHash?: boolean } }[];
}

const kustomization = parse(readFileSync(join(KIT_DIR, 'kustomization.yaml'), 'utf8')) as Kustomization;

/**
 * A kubectl that is there already: KUBECTL, the control plane's cache, or PATH. The harness would
 * otherwise build the control plane, which is the integration tests' business, not a unit test's.
 */
function kubectlAtHand(): string | undefined {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  try {
    const binDir = execFileSync(join(PROJECT_ROOT, 'hack', 'build-control-plane.sh'), ['--print-bin-dir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(binDir, 'kubectl'))) return join(binDir, 'kubectl');
  } catch {
    // no cache yet
  }
  return onPath('kubectl');
}

describe('config/prometheus', () => {
  it('applies every file of the kit', () => {
    const used = new Set([...(kustomization.resources ?? []), ...(kustomization.configMapGenerator ?? []).flatMap((g) => g.files ?? [])]);
    const files = readdirSync(KIT_DIR).filter((file) => file !== 'kustomization.yaml');
    expect(files.filter((file) => !used.has(file)), 'files kustomize leaves out').toEqual([]);
    expect([...used].filter((file) => !files.includes(file)), 'files kustomize names that do not exist').toEqual([]);
  });

  const kubectl = kubectlAtHand();

  describe.skipIf(kubectl === undefined)('rendered by kubectl kustomize', () => {
    beforeAll(() => vi.stubEnv('KUBECTL', kubectl!));
    afterAll(() => vi.unstubAllEnvs());

    it('holds the ServiceMonitor, the alerts and the dashboard, all where kube-prometheus-stack looks', () => {
      const objects = renderKustomization('config/prometheus');
      expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
        'ConfigMap/switchboard-grafana-dashboard', 'PrometheusRule/switchboard', 'ServiceMonitor/switchboard',
      ]);
      for (const object of objects) {
        expect(object.metadata?.namespace, object.kind).toBe('switchboard-system');
        expect(object.metadata?.labels?.release, object.kind).toBe('kube-prometheus-stack');
      }
      const rule = objects.find((o) => o.kind === 'PrometheusRule') as unknown as { spec: unknown };
      expect(rule.spec).toEqual(loadPrometheusRule().spec);
    });

    // The sidecar loads every ConfigMap labelled grafana_dashboard=1, each key a dashboard file.
    it('ships the dashboard as a ConfigMap for Grafana\'s sidecar, under a name that does not change', () => {
      const configMap = renderKustomization('config/prometheus').find((o) => o.kind === 'ConfigMap') as unknown as {
        metadata: { name: string; labels: Record<string, string> }; data: Record<string, string>;
      };
      expect(configMap.metadata.name).toBe('switchboard-grafana-dashboard');
      expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
      expect(Object.keys(configMap.data)).toEqual(['grafana-dashboard.json']);
      expect(JSON.parse(configMap.data['grafana-dashboard.json']!)).toEqual(loadDashboard());
    });
  });
});
