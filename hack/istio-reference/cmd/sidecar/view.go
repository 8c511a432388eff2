package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// hostView is one "applied" line: how this proxy routes requests to host:port right now.
type hostView struct {
	Event string `json:"event"`
	Host  string `json:"host"`
	Port  int    `json:"port"`
	// Per xDS type (cds, rds, eds), the version and nonce last ACKed.
	Acked map[string]map[string]string `json:"acked"`
	// Envoy's routes of the host's virtual host, in match order; empty while it has none.
	Routes []routeView `json:"routes"`
	// The host's clusters on that port, and any other cluster a route sends or mirrors to.
	Clusters map[string]clusterView `json:"clusters"`
}

type routeView struct {
	Name           string         `json:"name"`
	Match          matchView      `json:"match"`
	Clusters       []weightedView `json:"clusters"`
	Mirrors        []mirrorView   `json:"mirrors,omitempty"`
	DirectResponse uint32         `json:"directResponse,omitempty"`
}

type matchView struct {
	Prefix  *string      `json:"prefix,omitempty"`
	Path    *string      `json:"path,omitempty"`
	Regex   *string      `json:"regex,omitempty"`
	Headers []headerView `json:"headers,omitempty"`
}

type headerView struct {
	Name       string  `json:"name"`
	Exact      *string `json:"exact,omitempty"`
	Prefix     *string `json:"prefix,omitempty"`
	Suffix     *string `json:"suffix,omitempty"`
	Contains   *string `json:"contains,omitempty"`
	Regex      *string `json:"regex,omitempty"`
	Present    *bool   `json:"present,omitempty"`
	IgnoreCase bool    `json:"ignoreCase,omitempty"`
	Invert     bool    `json:"invert,omitempty"`
}

type weightedView struct {
	Name   string `json:"name"`
	Weight uint32 `json:"weight"`
}

type mirrorView struct {
	Cluster string  `json:"cluster"`
	Percent float64 `json:"percent"`
}

type clusterView struct {
	// False when CDS has not given the cluster, or while an EDS cluster waits for its first
	// endpoints: Envoy keeps such a cluster warming and routes nothing to it (503 NC).
	Known     bool           `json:"known"`
	Endpoints []endpointView `json:"endpoints"`
}

type endpointView struct {
	Address string `json:"address"`
	Healthy bool   `json:"healthy"`
}

func (a *appliedConfig) view(host string, port int, acked map[string]map[string]string) hostView {
	view := hostView{Event: "applied", Host: host, Port: port, Acked: acked, Routes: []routeView{}, Clusters: map[string]clusterView{}}
	for _, route := range virtualHostFor(a.routes[fmt.Sprint(port)], host, port).GetRoutes() {
		view.Routes = append(view.Routes, routeViewOf(route))
	}
	prefix, suffix := fmt.Sprintf("outbound|%d|", port), "|"+host
	for name := range a.clusters {
		if strings.HasPrefix(name, prefix) && strings.HasSuffix(name, suffix) {
			view.Clusters[name] = a.clusterView(name)
		}
	}
	for _, route := range view.Routes {
		for _, cluster := range route.Clusters {
			view.Clusters[cluster.Name] = a.clusterView(cluster.Name)
		}
		for _, mirror := range route.Mirrors {
			view.Clusters[mirror.Cluster] = a.clusterView(mirror.Cluster)
		}
	}
	return view
}

func virtualHostFor(config *routev3.RouteConfiguration, host string, port int) *routev3.VirtualHost {
	withPort := fmt.Sprintf("%s:%d", host, port)
	for _, virtualHost := range config.GetVirtualHosts() {
		if slices.Contains(virtualHost.GetDomains(), host) || slices.Contains(virtualHost.GetDomains(), withPort) {
			return virtualHost
		}
	}
	return nil
}

func routeViewOf(route *routev3.Route) routeView {
	view := routeView{Name: route.GetName(), Match: matchViewOf(route.GetMatch()), Clusters: []weightedView{}}
	action := route.GetRoute()
	if cluster := action.GetCluster(); cluster != "" {
		view.Clusters = append(view.Clusters, weightedView{Name: cluster, Weight: 100})
	}
	for _, weighted := range action.GetWeightedClusters().GetClusters() {
		view.Clusters = append(view.Clusters, weightedView{Name: weighted.GetName(), Weight: weighted.GetWeight().GetValue()})
	}
	for _, mirror := range action.GetRequestMirrorPolicies() {
		view.Mirrors = append(view.Mirrors, mirrorView{Cluster: mirror.GetCluster(), Percent: percentOf(mirror.GetRuntimeFraction())})
	}
	view.DirectResponse = route.GetDirectResponse().GetStatus()
	return view
}

// percentOf reads a mirror's share; without one Envoy mirrors every request.
func percentOf(fraction *corev3.RuntimeFractionalPercent) float64 {
	value := fraction.GetDefaultValue()
	if value == nil {
		return 100
	}
	scale := map[typev3.FractionalPercent_DenominatorType]float64{
		typev3.FractionalPercent_HUNDRED: 1, typev3.FractionalPercent_TEN_THOUSAND: 100, typev3.FractionalPercent_MILLION: 10_000,
	}[value.GetDenominator()]
	return float64(value.GetNumerator()) / scale
}

func matchViewOf(match *routev3.RouteMatch) matchView {
	view := matchView{}
	switch specifier := match.GetPathSpecifier().(type) {
	case *routev3.RouteMatch_Prefix:
		view.Prefix = &specifier.Prefix
	case *routev3.RouteMatch_Path:
		view.Path = &specifier.Path
	case *routev3.RouteMatch_SafeRegex:
		regex := specifier.SafeRegex.GetRegex()
		view.Regex = &regex
	case *routev3.RouteMatch_PathSeparatedPrefix:
		view.Prefix = &specifier.PathSeparatedPrefix
	}
	for _, header := range match.GetHeaders() {
		view.Headers = append(view.Headers, headerViewOf(header))
	}
	return view
}

func headerViewOf(header *routev3.HeaderMatcher) headerView {
	view := headerView{Name: header.GetName(), Invert: header.GetInvertMatch()}
	text := func(s string) *string { return &s }
	switch specifier := header.GetHeaderMatchSpecifier().(type) {
	case *routev3.HeaderMatcher_StringMatch:
		view.IgnoreCase = specifier.StringMatch.GetIgnoreCase()
		switch pattern := specifier.StringMatch.GetMatchPattern().(type) {
		case *matcherv3.StringMatcher_Exact:
			view.Exact = text(pattern.Exact)
		case *matcherv3.StringMatcher_Prefix:
			view.Prefix = text(pattern.Prefix)
		case *matcherv3.StringMatcher_Suffix:
			view.Suffix = text(pattern.Suffix)
		case *matcherv3.StringMatcher_Contains:
			view.Contains = text(pattern.Contains)
		case *matcherv3.StringMatcher_SafeRegex:
			view.Regex = text(pattern.SafeRegex.GetRegex())
		}
	case *routev3.HeaderMatcher_ExactMatch:
		view.Exact = text(specifier.ExactMatch)
	case *routev3.HeaderMatcher_PrefixMatch:
		view.Prefix = text(specifier.PrefixMatch)
	case *routev3.HeaderMatcher_SuffixMatch:
		view.Suffix = text(specifier.SuffixMatch)
	case *routev3.HeaderMatcher_ContainsMatch:
		view.Contains = text(specifier.ContainsMatch)
	case *routev3.HeaderMatcher_SafeRegexMatch:
		view.Regex = text(specifier.SafeRegexMatch.GetRegex())
	case *routev3.HeaderMatcher_PresentMatch:
		present := specifier.PresentMatch
		view.Present = &present
	}
	return view
}

func (a *appliedConfig) clusterView(name string) clusterView {
	view := clusterView{Endpoints: []endpointView{}}
	cluster, inCDS := a.clusters[name]
	if !inCDS {
		return view
	}
	// A DNS or static cluster carries its endpoints itself.
	assignment, warmed := cluster.GetLoadAssignment(), true
	if cluster.GetType() == clusterv3.Cluster_EDS {
		edsName := name
		if service := cluster.GetEdsClusterConfig().GetServiceName(); service != "" {
			edsName = service
		}
		assignment, warmed = a.endpoints[edsName]
	}
	view.Known = warmed
	for _, locality := range assignment.GetEndpoints() {
		for _, endpoint := range locality.GetLbEndpoints() {
			socket := endpoint.GetEndpoint().GetAddress().GetSocketAddress()
			// Envoy sends traffic to HEALTHY, DEGRADED and UNKNOWN (not health-checked) endpoints.
			status := endpoint.GetHealthStatus()
			healthy := status == corev3.HealthStatus_HEALTHY || status == corev3.HealthStatus_DEGRADED || status == corev3.HealthStatus_UNKNOWN
			view.Endpoints = append(view.Endpoints, endpointView{
				Address: fmt.Sprintf("%s:%d", socket.GetAddress(), socket.GetPortValue()), Healthy: healthy,
			})
		}
	}
	slices.SortFunc(view.Endpoints, func(x, y endpointView) int { return strings.Compare(x.Address, y.Address) })
	return view
}

// jsonLines writes one JSON object per line; the reader goroutine and the applier both write.
type jsonLines struct {
	mu  sync.Mutex
	out io.Writer
}

func newJSONLines(out io.Writer) *jsonLines { return &jsonLines{out: out} }

func (j *jsonLines) event(value any) {
	line, err := json.Marshal(value)
	if err != nil {
		line = []byte(fmt.Sprintf(`{"event":"error","error":%q}`, err.Error()))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.out.Write(append(line, '\n'))
}
