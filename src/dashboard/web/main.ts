// The dashboard's page: the rollout list (#/) and one rollout (#/NAMESPACE/NAME), each kept up to
// date by the server's events; the server sends a page's whole state whenever it changes.
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { formatNumber } from '../../cli/rollouts/rollout-table.ts';
import type { RolloutStatusView } from '../../cli/rollouts/rollout-view.ts';
import type { DashboardAction } from '../protocol.ts';
import type { RolloutDetail, RolloutListView } from '../views.ts';
import { MetricChart, WeightChart } from './charts.ts';

type Route = { page: 'list' } | { page: 'rollout'; namespace: string; name: string };

function currentRoute(): Route {
  const [namespace, name] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return namespace && name ? { page: 'rollout', namespace, name } : { page: 'list' };
}

interface Live {
  list?: RolloutListView;
  detail?: RolloutDetail | { missing: { namespace: string; name: string } };
  connected: boolean;
}

/** One EventSource for the page shown; the browser reconnects it by itself after a drop. */
function useLive(route: Route): Live {
  const [live, setLive] = useState<Live>({ connected: false });
  useEffect(() => {
    const query = route.page === 'rollout' ? `?rollout=${encodeURIComponent(`${route.namespace}/${route.name}`)}` : '';
    const source = new EventSource(`/api/events${query}`);
    setLive({ connected: false });
    source.onopen = () => setLive((state) => ({ ...state, connected: true }));
    source.onerror = () => setLive((state) => ({ ...state, connected: false }));
    source.addEventListener('rollouts', (event) => setLive((state) => ({ ...state, list: JSON.parse(event.data) as RolloutListView })));
    source.addEventListener('rollout', (event) => setLive((state) => ({ ...state, detail: JSON.parse(event.data) as Live['detail'] })));
    return () => source.close();
  }, [route.page === 'rollout' ? `${route.namespace}/${route.name}` : '']);
  return live;
}

const weightOf = (view: RolloutStatusView) => `${view.canaryWeight ?? 0}%`;
const stepOf = (view: RolloutStatusView) => (view.step === undefined ? '-' : `${Math.min(view.step.index + 1, view.step.count)}/${view.step.count}`);
const short = (revision: string | undefined) => revision ?? '-';
const phaseClass = (phase: string | undefined) => `phase phase-${(phase ?? 'unknown').toLowerCase()}`;

function ListPage({ list }: { list: RolloutListView | undefined }) {
  if (list === undefined) return html`<p class="muted">loading…</p>`;
  return html`
    <h1>Rollouts</h1>
    <p class="muted">${list.namespaces === undefined ? 'every namespace' : `namespaces: ${list.namespaces.join(', ')}`}</p>
    <table data-testid="rollout-list">
      <thead><tr><th>Namespace</th><th>Name</th><th>Phase</th><th>Weight</th><th>Step</th><th>Stable</th><th>Canary</th><th>Message</th></tr></thead>
      <tbody>
        ${list.items.map((item) => html`
          <tr data-testid=${`row-${item.namespace}-${item.name}`}>
            <td>${item.namespace}</td>
            <td><a href=${`#/${item.namespace}/${item.name}`}>${item.name}</a></td>
            <td><span class=${phaseClass(item.phase)}>${item.phase ?? '-'}</span>${item.paused ? html` <span class="tag">paused</span>` : null}</td>
            <td data-testid="weight">${weightOf(item)}</td>
            <td data-testid="step">${stepOf(item)}</td>
            <td><code>${short(item.stableRevision)}</code></td>
            <td><code>${short(item.canaryRevision)}</code></td>
            <td class="message">${item.message ?? ''}</td>
          </tr>`)}
      </tbody>
    </table>
    ${list.items.length === 0 ? html`<p class="muted">No rollouts in the namespaces you may list.</p>` : null}`;
}

const ACTION_LABELS: Record<DashboardAction, { label: string; asks: string }> = {
  promote: { label: 'Promote', asks: 'override the gate holding the rollout, else release the current pause' },
  promoteFull: { label: 'Promote fully', asks: 'skip every remaining step and analysis and make the canary stable now' },
  abort: { label: 'Abort', asks: 'send all traffic back to stable and scale the canary to zero' },
  retry: { label: 'Retry', asks: 'restart the rolled back or aborted rollout from its first step' },
  pause: { label: 'Pause', asks: 'hold the rollout at its current step' },
  resume: { label: 'Resume', asks: 'continue the paused rollout from its current step' },
  undo: { label: 'Undo', asks: 'set the template back to what the stable Deployment runs' },
};

type Outcome = { ok: boolean; message: string };

async function sendAction(namespace: string, name: string, action: DashboardAction): Promise<Outcome> {
  const response = await fetch(`/api/rollouts/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${action}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
  });
  const body = (await response.json().catch(() => ({ message: `HTTP ${response.status}` }))) as { message?: string };
  return { ok: response.ok, message: body.message ?? `HTTP ${response.status}` };
}

function Actions({ namespace, name }: { namespace: string; name: string }) {
  const [asking, setAsking] = useState<DashboardAction | undefined>(undefined);
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    if (asking === undefined) return;
    setBusy(true);
    const result = await sendAction(namespace, name, asking).catch((error: Error) => ({ ok: false, message: error.message }));
    setBusy(false);
    setAsking(undefined);
    setOutcome(result);
  };
  return html`
    <div class="actions">
      ${(Object.keys(ACTION_LABELS) as DashboardAction[]).map((action) => html`
        <button data-testid=${`action-${action}`} class=${action === 'abort' || action === 'undo' ? 'danger' : ''}
          onClick=${() => { setOutcome(undefined); setAsking(action); }}>${ACTION_LABELS[action].label}</button>`)}
    </div>
    ${asking === undefined ? null : html`
      <div class="confirm" role="dialog" aria-modal="true" data-testid="confirm">
        <p><strong>${ACTION_LABELS[asking].label}</strong> rollout <code>${name}</code> in namespace <code>${namespace}</code>:
          ${ACTION_LABELS[asking].asks}?</p>
        <button data-testid="confirm-yes" disabled=${busy} onClick=${confirm}>${ACTION_LABELS[asking].label}</button>
        <button data-testid="confirm-no" disabled=${busy} onClick=${() => setAsking(undefined)}>Cancel</button>
      </div>`}
    ${outcome === undefined ? null : html`
      <p data-testid="action-result" class=${outcome.ok ? 'result ok' : 'result error'}>${outcome.message}</p>`}`;
}

function Section({ title, children }: { title: string; children: unknown }) {
  return html`<section><h2>${title}</h2>${children}</section>`;
}

function DetailPage({ detail, now }: { detail: Live['detail']; now: number }) {
  if (detail === undefined) return html`<p class="muted">loading…</p>`;
  if ('missing' in detail) return html`<p class="muted">No rollout ${detail.missing.name} in namespace ${detail.missing.namespace} (or you may not see it).</p>`;
  const { status: view, history, pods, events, virtualServices } = detail;
  const metrics = [...new Set([...(view.analysis?.metrics ?? []), ...history.rounds.flatMap((round) => round.results.map((r) => r.name))])];
  return html`
    <p><a href="#/">← all rollouts</a></p>
    <h1>${view.name} <span class="muted">in ${view.namespace}</span></h1>
    <div class="summary" data-testid="summary">
      <div><span class="label">phase</span><span class=${phaseClass(view.phase)} data-testid="phase">${view.phase ?? '-'}</span>${view.paused ? html` <span class="tag">paused</span>` : null}</div>
      <div><span class="label">weight</span><strong data-testid="weight">${weightOf(view)}</strong></div>
      <div><span class="label">step</span><strong data-testid="step">${stepOf(view)}</strong></div>
      <div><span class="label">stable</span><code>${short(view.stableRevision)}</code></div>
      <div><span class="label">canary</span><code>${short(view.canaryRevision)}</code></div>
    </div>
    ${view.message === undefined ? null : html`<p class="message" data-testid="message">${view.message}</p>`}
    <${Actions} namespace=${view.namespace} name=${view.name} />
    <${Section} title="Canary weight over time">
      <${WeightChart} points=${history.points} now=${now} />
      <p class="muted small">Recorded since this dashboard started.</p>
    <//>
    <${Section} title="Steps">
      <ol class="steps">${view.steps.map((step) => html`<li class=${step.current ? 'current' : ''}>${step.description}${step.pause?.released ? ' (released)' : ''}</li>`)}</ol>
    <//>
    ${view.analysis === undefined ? null : html`
      <${Section} title="Analysis">
        <p data-testid="analysis-counts">passed ${view.analysis.counts?.passed ?? 0} · failed ${view.analysis.counts?.failed ?? 0} (limit ${view.analysis.failureLimit}) ·
          inconclusive ${view.analysis.counts?.inconclusive ?? 0} · errored ${view.analysis.counts?.errored ?? 0}</p>
        <table>
          <thead><tr><th>Check</th><th>Verdict</th><th>Value</th><th>Limit</th><th>Message</th></tr></thead>
          <tbody>${view.analysis.last.map((check) => html`
            <tr><td>${check.name}${check.dryRun ? ' (dry run)' : ''}</td><td class=${`verdict-${check.verdict}`}>${check.verdict}</td>
              <td>${formatNumber(check.value)}</td><td>${formatNumber(check.limit)}</td><td class="message">${check.message}</td></tr>`)}</tbody>
        </table>
        ${metrics.map((metric) => html`<${MetricChart} name=${metric} rounds=${history.rounds} />`)}
      <//>`}
    ${view.gates === undefined ? null : html`
      <${Section} title="Gates">
        <table data-testid="gates">
          <thead><tr><th>Gate</th><th>Point</th><th>State</th><th>Message</th></tr></thead>
          <tbody>${view.gates.map((gate) => html`<tr><td>${gate.name}</td><td>${gate.point}</td><td>${gate.state}</td><td class="message">${gate.message ?? ''}</td></tr>`)}</tbody>
        </table>
      <//>`}
    <${Section} title="Pods">
      <div class="pods" data-testid="pods">${pods.map((group) => html`
        <div class="pod-group">
          <h3>${group.role} <code>${group.revision ?? '-'}</code></h3>
          ${group.pods.length === 0 ? html`<p class="muted">none</p>` : html`<ul>${group.pods.map((pod) => html`
            <li><span class=${pod.ready ? 'dot ready' : 'dot'}></span>${pod.name} <span class="muted">${pod.phase}${pod.restarts > 0 ? `, ${pod.restarts} restarts` : ''}</span></li>`)}</ul>`}
        </div>`)}</div>
    <//>
    ${virtualServices.map((virtualService) => html`
      <${Section} title=${`VirtualService ${virtualService.namespace === view.namespace ? '' : `${virtualService.namespace}/`}${virtualService.name}`}>
        ${virtualService.routes === undefined ? html`<p class="muted">not found, or not readable with your rights</p>` : html`
          <table data-testid="routes">
            <thead><tr><th>Route</th><th>Managed</th><th>Match</th><th>Destinations</th></tr></thead>
            <tbody>${virtualService.routes.map((route) => html`
              <tr class=${route.owner === view.name ? 'managed' : ''}>
                <td>${route.name}</td>
                <td>${route.stepRoute !== undefined ? `${route.stepRoute} route of a step` : route.owner === undefined ? '-' : route.owner === view.name ? 'weights' : `by ${route.owner}`}</td>
                <td>${route.match ? 'yes' : 'all requests'}</td>
                <td>${route.destinations.map((d) => `${d.subset ?? d.host} ${d.weight}%`).join(' · ')}${route.mirror === undefined ? '' : ` · mirror to ${route.mirror.subset ?? '?'} ${route.mirror.percentage ?? 100}%`}</td>
              </tr>`)}</tbody>
          </table>`}
      <//>`)}
    <${Section} title="Events">
      <table data-testid="events">
        <thead><tr><th>Last seen</th><th>Type</th><th>Reason</th><th>Message</th></tr></thead>
        <tbody>${events.map((event) => html`
          <tr class=${event.type === 'Warning' ? 'warning' : ''}><td>${event.lastSeen === undefined ? '-' : new Date(event.lastSeen).toLocaleTimeString()}</td>
            <td>${event.type}</td><td>${event.reason}</td><td class="message">${event.message}${event.count > 1 ? ` (×${event.count})` : ''}</td></tr>`)}</tbody>
      </table>
    <//>
    ${view.conditions.length === 0 ? null : html`
      <${Section} title="Conditions">
        <table><tbody>${view.conditions.map((condition) => html`<tr><td>${condition.type}</td><td>${condition.status}</td><td>${condition.reason}</td><td class="message">${condition.message}</td></tr>`)}</tbody></table>
      <//>`}`;
}

function App() {
  const [route, setRoute] = useState<Route>(currentRoute());
  useEffect(() => {
    const onHash = () => setRoute(currentRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const live = useLive(route);
  return html`
    <header>
      <a href="#/" class="brand">Switchboard</a>
      <span class="muted">${live.list?.user === undefined ? '' : `as ${live.list.user}`}</span>
      <span class=${live.connected ? 'live on' : 'live'} data-testid="live">${live.connected ? 'live' : 'reconnecting'}</span>
    </header>
    ${(live.list?.problems ?? []).map((problem) => html`<p class="problem">${problem}</p>`)}
    <main>
      ${route.page === 'list' ? html`<${ListPage} list=${live.list} />` : html`<${DetailPage} detail=${live.detail} now=${Date.now()} />`}
    </main>`;
}

const root = document.getElementById('app');
if (root !== null) render(html`<${App} />`, root);
