// client-node's KubeConfig authenticates each request by building a new undici Agent for it
// (applySecurityAuthentication → createDispatcher), so every request of a generated API client
// opens its own TLS connection: a handshake on both ends, its secure context parsed again, and a
// socket left open until it idles out. At 40 requests/s that is 40 handshakes a second and
// dozens of open sockets. The controller's clients share one Agent instead, whose keep-alive
// pool reuses connections as client-go's transport does.
import type { KubeConfig, RequestContext, SecurityAuthentication } from '@kubernetes/client-node';

/** What client-node's request context carries for connections (an undici Dispatcher). */
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * The kubeconfig's own authentication (headers, tokens refreshed as it refreshes them) over one
 * pooled Agent. The TLS material of the first request is kept for the life of the process, as
 * client-go keeps the transport it built from a kubeconfig.
 */
export class PooledKubeConfigAuth implements SecurityAuthentication {
  private readonly kubeConfig: KubeConfig;
  private pooled: Dispatcher | undefined;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  getName(): string {
    return 'kubeconfig authentication over pooled connections';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.kubeConfig.applySecurityAuthentication(context);
    const built = context.getDispatcher();
    if (built === undefined) return;
    if (this.pooled === undefined) {
      this.pooled = built;
      return;
    }
    context.setDispatcher(this.pooled);
    // Never connected: closing it frees nothing but says it is not used.
    void built.close().catch(() => undefined);
  }

  /** Closes the pooled connections (on shutdown). */
  async close(): Promise<void> {
    await this.pooled?.close();
    this.pooled = undefined;
  }
}
