// `switchboard dashboard`'s web server: the page and its bundle (built into dist/dashboard/assets
// by hack/build-dashboard.ts, served from the package, never from a CDN), server-sent events
// carrying the pages' state from the shared watches, and the actions, sent with the user's own
// credentials through the code the CLI's commands run.
import Fastify, { type FastifyInstance } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ServerResponse } from 'node:http';
import { sendRolloutAction } from '../cli/rollouts/rollout-actions.ts';
import { RolloutApi } from '../cli/rollouts/rollout-api.ts';
import { undoRollout } from '../cli/rollouts/rollout-undo.ts';
import { CliError } from '../cli/rollout-errors.ts';
import { actionFailureStatus, changedFrames, checkRequest, parseAction, parseRolloutKey } from './protocol.ts';
import { rolloutDetail, rolloutListView, trackDeployments, virtualServiceRefs } from './views.ts';
import { WatchHub, type WatchScope } from './watch-hub.ts';

/** Same depth from src/dashboard and dist/dashboard: the bundle is always found in dist. */
export const ASSETS_DIR = new URL('../../dist/dashboard/assets/', import.meta.url);

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** Under every proxy's idle timeout: a comment line keeps a quiet stream open. */
const KEEPALIVE_MS = 20_000;
/** Changes that arrive together (a controller's status write, then its Event) go out as one push. */
const COALESCE_MS = 50;

interface Tab {
  rollout: { namespace: string; name: string } | undefined;
  sent: Map<string, string>;
  response: ServerResponse;
}

export interface DashboardServer {
  url: string;
  close(): Promise<void>;
}

export interface DashboardOptions {
  kubeConfig: KubeConfig;
  scope: WatchScope;
  port: number;
  user: string | undefined;
}

function readAsset(name: string): Buffer {
  const url = new URL(name, ASSETS_DIR);
  if (!existsSync(url)) {
    throw new Error(`the dashboard's ${name} is not built (${url.pathname}); build it with: npm run build`);
  }
  return readFileSync(url);
}

export async function startDashboard(options: DashboardOptions): Promise<DashboardServer> {
  const assets = Object.fromEntries(['index.html', ...Object.keys(ASSETS)].map((name) => [name, readAsset(name)]));
  const tabs = new Set<Tab>();
  let flushTimer: NodeJS.Timeout | undefined;
  const hub = new WatchHub({
    kubeConfig: options.kubeConfig,
    scope: options.scope,
    onChange: () => { flushTimer ??= setTimeout(flush, COALESCE_MS); },
  });
  const context = {
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.scope.allNamespaces ? {} : { namespaces: options.scope.namespaces }),
  };

  /** The state of each page, computed once per push whatever the number of tabs showing it. */
  const topicsOf = (tab: Tab, memo: Map<string, unknown>): Map<string, unknown> => {
    const deployments = () => hub.list('deployments');
    const list = memo.get('rollouts') ?? rolloutListView(hub.list('rollouts'), (rollout) => trackDeployments(rollout, deployments()), { ...context, problems: hub.problems() });
    memo.set('rollouts', list);
    const topics = new Map<string, unknown>([['rollouts', list]]);
    if (tab.rollout !== undefined) {
      const { namespace, name } = tab.rollout;
      const key = `rollout:${namespace}/${name}`;
      if (!memo.has(key)) {
        const rollout = hub.get('rollouts', namespace, name);
        memo.set(key, rollout === undefined ? { missing: { namespace, name } } : rolloutDetail({
          rollout,
          deployments: trackDeployments(rollout, hub.list('deployments', namespace)),
          pods: hub.list('pods', namespace),
          events: hub.list('events', namespace),
          virtualServices: new Map(virtualServiceRefs(rollout).flatMap((ref) => {
            const found = hub.get('virtualServices', ref.namespace, ref.name);
            return found === undefined ? [] : [[`${ref.namespace}/${ref.name}`, found] as const];
          })),
          history: hub.history(namespace, name),
        }));
      }
      topics.set('rollout', memo.get(key));
    }
    return topics;
  };

  const push = (tab: Tab, memo: Map<string, unknown>) => {
    for (const frame of changedFrames(tab.sent, topicsOf(tab, memo))) tab.response.write(frame);
  };

  function flush(): void {
    flushTimer = undefined;
    const memo = new Map<string, unknown>();
    for (const tab of tabs) push(tab, memo);
  }

  const app: FastifyInstance = Fastify({ logger: false });
  app.addHook('onRequest', async (request, reply) => {
    const verdict = checkRequest({
      method: request.method, host: request.headers.host, origin: request.headers.origin, contentType: request.headers['content-type'],
    }, port());
    if (!verdict.allowed) return reply.code(verdict.status).type('text/plain').send(`${verdict.reason}\n`);
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
  });

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(assets['index.html']));
  for (const [name, type] of Object.entries(ASSETS)) {
    app.get(`/assets/${name}`, async (_request, reply) => reply.type(type).header('cache-control', 'no-cache').send(assets[name]));
  }

  app.get('/api/events', (request, reply) => {
    const query = request.query as { rollout?: unknown };
    const rollout = parseRolloutKey(query.rollout);
    if (query.rollout !== undefined && rollout === undefined) {
      void reply.code(400).type('text/plain').send('rollout must be NAMESPACE/NAME\n');
      return;
    }
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    response.write('retry: 2000\n\n');
    const tab: Tab = { rollout, sent: new Map(), response };
    tabs.add(tab);
    push(tab, new Map());
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    // The response's close, not the request's: a GET's request closes as soon as it is read.
    response.on('close', () => {
      clearInterval(keepalive);
      tabs.delete(tab);
    });
  });

  app.post('/api/rollouts/:namespace/:name/:action', async (request, reply) => {
    const params = request.params as { namespace: string; name: string; action: string };
    const action = parseAction(params.action);
    const target = parseRolloutKey(`${params.namespace}/${params.name}`);
    if (action === undefined || target === undefined) {
      return reply.code(400).send({ message: `unknown action "${params.action}" or rollout "${params.namespace}/${params.name}"` });
    }
    const api = new RolloutApi(options.kubeConfig, target.namespace);
    try {
      const message = action === 'undo' ? await undoRollout(api, target.name) : await sendRolloutAction(api, target.name, action, new Date());
      return reply.send({ message: message.trimEnd() });
    } catch (error) {
      const code = error instanceof CliError ? error.code : undefined;
      return reply.code(actionFailureStatus(code)).send({ ...(code === undefined ? {} : { code }), message: (error as Error).message });
    }
  });

  const port = () => {
    const address = app.server.address();
    return typeof address === 'object' && address !== null ? address.port : options.port;
  };

  try {
    await app.listen({ host: '127.0.0.1', port: options.port });
  } catch (error) {
    await hub.stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port()}/`,
    close: async () => {
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      for (const tab of tabs) tab.response.end();
      await Promise.all([app.close(), hub.stop()]);
    },
  };
}
