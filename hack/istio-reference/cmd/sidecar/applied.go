package main

import (
	"fmt"
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

const wrappedResourceType = "type.googleapis.com/envoy.service.discovery.v3.Resource"

// appliedConfig is the config this proxy runs with: what the last accepted push of each type said.
type appliedConfig struct {
	clusters  map[string]*clusterv3.Cluster
	routes    map[string]*routev3.RouteConfiguration
	endpoints map[string]*endpointv3.ClusterLoadAssignment
}

func newAppliedConfig() *appliedConfig {
	return &appliedConfig{
		clusters:  map[string]*clusterv3.Cluster{},
		routes:    map[string]*routev3.RouteConfiguration{},
		endpoints: map[string]*endpointv3.ClusterLoadAssignment{},
	}
}

// take applies one response. CDS is a wildcard subscription, so each response is the whole set;
// for RDS and EDS a response names only some resources and the others stay (Envoy's state-of-the-
// world rules, which istiod relies on when it pushes only the endpoints that changed).
func (a *appliedConfig) take(typeURL string, resources []*anypb.Any) error {
	switch typeURL {
	case clusterType:
		clusters := map[string]*clusterv3.Cluster{}
		for _, resource := range resources {
			cluster := &clusterv3.Cluster{}
			if err := unwrap(resource, cluster); err != nil {
				return err
			}
			clusters[cluster.GetName()] = cluster
		}
		a.clusters = clusters
	case routeType:
		for _, resource := range resources {
			route := &routev3.RouteConfiguration{}
			if err := unwrap(resource, route); err != nil {
				return err
			}
			a.routes[route.GetName()] = route
		}
	case endpointsType:
		for _, resource := range resources {
			assignment := &endpointv3.ClusterLoadAssignment{}
			if err := unwrap(resource, assignment); err != nil {
				return err
			}
			a.endpoints[assignment.GetClusterName()] = assignment
		}
	}
	return nil
}

// unwrap reads a resource that comes either bare or in a discovery Resource wrapper.
func unwrap(resource *anypb.Any, into proto.Message) error {
	if resource.GetTypeUrl() == wrappedResourceType {
		wrapper := &discoveryv3.Resource{}
		if err := resource.UnmarshalTo(wrapper); err != nil {
			return err
		}
		resource = wrapper.GetResource()
	}
	if err := resource.UnmarshalTo(into); err != nil {
		return fmt.Errorf("resource of type %s: %w", resource.GetTypeUrl(), err)
	}
	return nil
}

// endpointClusterNames are the EDS names of the EDS clusters, sorted: what Envoy subscribes to.
func (a *appliedConfig) endpointClusterNames() []string {
	names := []string{}
	for name, cluster := range a.clusters {
		if cluster.GetType() != clusterv3.Cluster_EDS {
			continue
		}
		if service := cluster.GetEdsClusterConfig().GetServiceName(); service != "" {
			name = service
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (a *appliedConfig) keepEndpoints(names []string) {
	for name := range a.endpoints {
		if !slices.Contains(names, name) {
			delete(a.endpoints, name)
		}
	}
}
