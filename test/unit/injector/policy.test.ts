import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { findProxyIdentityViolations } from '../../../src/injector/policy.ts';
import { appContainer, pod } from './pods.ts';

const runAs = (runAsUser?: number, runAsGroup?: number) => ({
  securityContext: { ...(runAsUser === undefined ? {} : { runAsUser }), ...(runAsGroup === undefined ? {} : { runAsGroup }) },
});

interface PolicyCase {
  name: string;
  pod: V1Pod;
  expected: Array<{ code: string; field: string; container?: string }>;
}

const cases: PolicyCase[] = [
  { name: 'an ordinary pod passes', pod: pod({ containers: [appContainer('app', runAs(1000, 1000))] }), expected: [] },
  {
    name: 'runAsUser 1337 on the second container',
    pod: pod({ containers: [appContainer('app'), appContainer('worker', runAs(1337))] }),
    expected: [{ code: 'ContainerRunsAsProxyUID', field: 'spec.containers[1].securityContext.runAsUser', container: 'worker' }],
  },
  {
    name: 'runAsGroup 1337 on a container',
    pod: pod({ containers: [appContainer('app', runAs(1000, 1337))] }),
    expected: [{ code: 'ContainerRunsAsProxyGID', field: 'spec.containers[0].securityContext.runAsGroup', container: 'app' }],
  },
  {
    name: 'runAsUser 1337 on an init container',
    pod: pod({ initContainers: [appContainer('migrate', runAs(1337))] }),
    expected: [{ code: 'ContainerRunsAsProxyUID', field: 'spec.initContainers[0].securityContext.runAsUser', container: 'migrate' }],
  },
  {
    name: 'pod runAsUser 1337 inherited by every container without its own',
    pod: pod({ securityContext: { runAsUser: 1337 }, containers: [appContainer('app'), appContainer('worker', runAs(1000))] }),
    expected: [{ code: 'PodRunsAsProxyUID', field: 'spec.securityContext.runAsUser', container: 'app' }],
  },
  {
    name: 'pod runAsGroup 1337 inherited by an init container',
    pod: pod({ securityContext: { runAsGroup: 1337 }, containers: [appContainer('app', runAs(1000, 1000))], initContainers: [appContainer('init')] }),
    expected: [{ code: 'PodRunsAsProxyGID', field: 'spec.securityContext.runAsGroup', container: 'init' }],
  },
  {
    name: 'pod runAsUser 1337 refused even when every container overrides it',
    pod: pod({ securityContext: { runAsUser: 1337 }, containers: [appContainer('app', runAs(1000))] }),
    expected: [{ code: 'PodRunsAsProxyUID', field: 'spec.securityContext.runAsUser' }],
  },
  {
    name: 'ephemeral containers are checked',
    pod: { ...pod(), spec: { containers: [appContainer()], ephemeralContainers: [{ name: 'debugger', image: 'busybox', ...runAs(1337) }] } },
    expected: [{ code: 'ContainerRunsAsProxyUID', field: 'spec.ephemeralContainers[0].securityContext.runAsUser', container: 'debugger' }],
  },
  {
    name: 'the proxy and istio-init themselves are exempt',
    pod: pod({ containers: [appContainer('app'), appContainer('istio-proxy', runAs(1337, 1337))], initContainers: [appContainer('istio-init', runAs(0, 0))] }),
    expected: [],
  },
  {
    name: 'a native istio-proxy init container is exempt',
    pod: pod({ initContainers: [appContainer('istio-init', runAs(0, 0)), appContainer('istio-proxy', runAs(1337, 1337))] }),
    expected: [],
  },
  {
    name: 'an ephemeral container named istio-proxy is not exempt',
    pod: { ...pod(), spec: { containers: [appContainer()], ephemeralContainers: [{ name: 'istio-proxy', ...runAs(1337) }] } },
    expected: [{ code: 'ContainerRunsAsProxyUID', field: 'spec.ephemeralContainers[0].securityContext.runAsUser', container: 'istio-proxy' }],
  },
  {
    name: 'the exempt proxy does not hide a pod-level 1337',
    pod: pod({ securityContext: { runAsUser: 1337 }, containers: [appContainer('app', runAs(1000)), appContainer('istio-proxy', runAs(1337))] }),
    expected: [{ code: 'PodRunsAsProxyUID', field: 'spec.securityContext.runAsUser' }],
  },
  {
    name: 'both fields on one container give two refusals',
    pod: pod({ containers: [appContainer('app', runAs(1337, 1337))] }),
    expected: [
      { code: 'ContainerRunsAsProxyUID', field: 'spec.containers[0].securityContext.runAsUser', container: 'app' },
      { code: 'ContainerRunsAsProxyGID', field: 'spec.containers[0].securityContext.runAsGroup', container: 'app' },
    ],
  },
];

describe('findProxyIdentityViolations', () => {
  it.each(cases)('$name', ({ pod: subject, expected }) => {
    const refusals = findProxyIdentityViolations(subject);
    expect(refusals.map(({ code, field, container }) => ({ code, field, ...(container === undefined ? {} : { container }) }))).toEqual(expected);
  });

  it('explains why and what to do', () => {
    const [refusal] = findProxyIdentityViolations(pod({ containers: [appContainer('app', runAs(1337))] }));
    expect(refusal?.message).toContain('1337');
    expect(refusal?.message).toContain('bypass the sidecar');
    expect(refusal?.message).toContain('set runAsUser to another UID');
  });

  it('names the pod-level field and the container fix for an inherited UID', () => {
    const [refusal] = findProxyIdentityViolations(pod({ securityContext: { runAsUser: 1337 } }));
    expect(refusal?.message).toContain('inherits 1337 from the pod securityContext');
    expect(refusal?.message).toContain('set securityContext.runAsUser on the container');
  });

  it('suggests network exclusions for init containers', () => {
    const [refusal] = findProxyIdentityViolations(pod({ initContainers: [appContainer('fetch-config', runAs(1337))] }));
    expect(refusal?.message).toContain('excludeOutboundIPRanges');
  });

  it('checks only the named new ephemeral containers when scoped', () => {
    const subject: V1Pod = {
      ...pod({ containers: [appContainer('app', runAs(1337))] }),
    };
    subject.spec!.ephemeralContainers = [
      { name: 'old-debugger', ...runAs(1337) },
      { name: 'new-debugger', ...runAs(1337) },
      { name: 'other', ...runAs(1000) },
    ];
    const refusals = findProxyIdentityViolations(subject, { newEphemeralContainers: new Set(['new-debugger', 'other']) });
    expect(refusals.map((refusal) => refusal.field)).toEqual(['spec.ephemeralContainers[1].securityContext.runAsUser']);
  });

  it('a new ephemeral container inherits the pod-level 1337', () => {
    const subject = pod({ securityContext: { runAsUser: 1337 } });
    subject.spec!.ephemeralContainers = [{ name: 'debugger' }];
    const refusals = findProxyIdentityViolations(subject, { newEphemeralContainers: new Set(['debugger']) });
    expect(refusals).toEqual([expect.objectContaining({ code: 'PodRunsAsProxyUID', field: 'spec.securityContext.runAsUser', container: 'debugger' })]);
  });
});
