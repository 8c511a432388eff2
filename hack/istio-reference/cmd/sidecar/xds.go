package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	clusterType   = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	routeType     = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	endpointsType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
)

type sidecarOptions struct {
	xdsAddress   string
	podName      string
	podNamespace string
	podIP        string
	labels       labelFlags
	domain       string
	host         string
	port         int
	applyDelay   time.Duration
}

// subscription is what Envoy remembers per xDS type: the names it asked for and the version and
// nonce it last accepted, which every ACK and every request after a reconnect carries.
type subscription struct {
	names   []string
	version string
	nonce   string
}

type sidecar struct {
	options sidecarOptions
	node    *corev3.Node
	out     *jsonLines
	applied *appliedConfig
	subs    map[string]*subscription
}

type received struct {
	response *discoveryv3.DiscoveryResponse
	at       time.Time
}

func newSidecar(options sidecarOptions, out *jsonLines) *sidecar {
	return &sidecar{
		options: options,
		node:    nodeFor(options),
		out:     out,
		applied: newAppliedConfig(),
		subs: map[string]*subscription{
			clusterType:   {}, // wildcard: every cluster, as a sidecar without a Sidecar resource gets
			routeType:     {names: []string{strconv.Itoa(options.port)}},
			endpointsType: {},
		},
	}
}

// nodeFor is the identity istiod derives a proxy from: the type~IP~pod.namespace~domain ID that
// pilot-agent builds, and the metadata istiod reads (pod, namespace, labels, cluster, version).
func nodeFor(o sidecarOptions) *corev3.Node {
	labels := map[string]any{}
	for key, value := range o.labels {
		labels[key] = value
	}
	workload := o.podName
	if app, ok := o.labels["app"]; ok {
		workload = app
	}
	metadata, err := structpb.NewStruct(map[string]any{
		"NAME": o.podName, "NAMESPACE": o.podNamespace, "LABELS": labels, "INSTANCE_IPS": o.podIP,
		"CLUSTER_ID": "Kubernetes", "MESH_ID": o.domain, "ISTIO_VERSION": istioVersion,
		"INTERCEPTION_MODE": "REDIRECT", "WORKLOAD_NAME": workload, "PROXY_CONFIG": map[string]any{},
	})
	if err != nil {
		panic(err) // only plain strings and maps above
	}
	return &corev3.Node{
		Id:       fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.%s", o.podIP, o.podName, o.podNamespace, o.podNamespace, o.domain),
		Cluster:  workload + "." + o.podNamespace,
		Metadata: metadata,
	}
}

// session runs one ADS stream until it breaks or ctx ends. Responses are read as they come and
// applied in order, each no earlier than applyDelay after it arrived.
//
// The stream is go-control-plane's generated ADS client, already in istio.io/istio's module graph,
// driven by hand: what is ACKed, when, and with which nonce is exactly what Envoy does, which is
// the point of a slow proxy. (Istio's own pkg/adsc replaces the nonce it is given when it sends.)
func (s *sidecar) session(ctx context.Context) error {
	conn, err := grpc.NewClient(s.options.xdsAddress, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(streamCtx)
	if err != nil {
		return err
	}
	// After a reconnect Envoy asks again with the versions it holds, and no nonce.
	for _, typeURL := range []string{clusterType, routeType, endpointsType} {
		sub := s.subs[typeURL]
		if typeURL == endpointsType && len(sub.names) == 0 {
			continue // asked for once CDS names the clusters
		}
		sub.nonce = ""
		if err := s.request(stream, typeURL); err != nil {
			return err
		}
	}
	s.out.event(map[string]any{"event": "connected", "node": s.node.GetId()})

	responses := make(chan received, 64)
	failed := make(chan error, 1)
	go func() {
		defer close(responses)
		for {
			response, err := stream.Recv()
			if err != nil {
				failed <- err
				return
			}
			s.out.event(map[string]any{"event": "received", "type": shortType(response.GetTypeUrl()),
				"version": response.GetVersionInfo(), "nonce": response.GetNonce()})
			responses <- received{response: response, at: time.Now()}
		}
	}()
	for push := range responses {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(push.at.Add(s.options.applyDelay))):
		}
		if err := s.apply(stream, push.response); err != nil {
			return err
		}
	}
	return <-failed
}

// apply takes a push in, ACKs it as Envoy does (its version and nonce, with the names subscribed
// to), asks for endpoints of clusters CDS just named, and reports the result.
func (s *sidecar) apply(stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, response *discoveryv3.DiscoveryResponse) error {
	typeURL := response.GetTypeUrl()
	sub, known := s.subs[typeURL]
	if !known {
		return nil // not asked for; istiod sends nothing else on a sidecar's stream
	}
	if err := s.applied.take(typeURL, response.GetResources()); err != nil {
		// Envoy would NACK; istiod only ever sends valid config, so say so and stop this stream.
		return fmt.Errorf("cannot read %s version %s: %w", shortType(typeURL), response.GetVersionInfo(), err)
	}
	sub.version, sub.nonce = response.GetVersionInfo(), response.GetNonce()
	if err := s.request(stream, typeURL); err != nil {
		return err
	}
	if typeURL == clusterType {
		names := s.applied.endpointClusterNames()
		if !slices.Equal(names, s.subs[endpointsType].names) {
			s.subs[endpointsType].names = names
			s.applied.keepEndpoints(names)
			if err := s.request(stream, endpointsType); err != nil {
				return err
			}
		}
	}
	s.out.event(s.applied.view(s.options.host, s.options.port, s.acked()))
	return nil
}

func (s *sidecar) request(stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient, typeURL string) error {
	sub := s.subs[typeURL]
	return stream.Send(&discoveryv3.DiscoveryRequest{
		Node: s.node, TypeUrl: typeURL, ResourceNames: sub.names,
		VersionInfo: sub.version, ResponseNonce: sub.nonce,
	})
}

func (s *sidecar) acked() map[string]map[string]string {
	acked := map[string]map[string]string{}
	for typeURL, sub := range s.subs {
		acked[shortType(typeURL)] = map[string]string{"version": sub.version, "nonce": sub.nonce}
	}
	return acked
}

func shortType(typeURL string) string {
	switch typeURL {
	case clusterType:
		return "cds"
	case routeType:
		return "rds"
	case endpointsType:
		return "eds"
	}
	return typeURL
}
