// client-node waits for an answer as long as the socket stays open. A caller with a deadline
// (the leader elector must give up before its renew deadline) aborts the request instead.
import { Observable, type ConfigurationOptions, type RequestContext } from '@kubernetes/client-node';

/** Per-call options that abort the request after `timeoutMs`. */
export function withRequestTimeout(timeoutMs: number): ConfigurationOptions {
  return {
    middleware: [{
      pre: (request: RequestContext) => {
        request.setSignal(AbortSignal.timeout(timeoutMs));
        return new Observable(Promise.resolve(request));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    }],
    middlewareMergeStrategy: 'append',
  };
}
