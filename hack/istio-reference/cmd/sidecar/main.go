// sidecar: plays one pod's Envoy against istiod's plaintext xDS port. It subscribes as a sidecar
// does (CDS, the outbound route of one port, EDS for every EDS cluster it is given), applies and
// ACKs each push, optionally late to play a slow proxy, and prints what it has applied for one
// destination host as JSON lines on stdout (see view.go). Errors and reconnects go to stderr.
//
// It stops on SIGTERM/SIGINT or when stdin closes, so that it never outlives the process that
// started it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Set at build time from the istio.io/istio module's VERSION file, so that istiod generates
// config for a proxy of its own version (an empty one reads as "latest", with a warning).
var istioVersion = ""

type labelFlags map[string]string

func (l labelFlags) String() string { return fmt.Sprint(map[string]string(l)) }

func (l labelFlags) Set(value string) error {
	key, val, ok := strings.Cut(value, "=")
	if !ok || key == "" {
		return fmt.Errorf("want key=value, got %q", value)
	}
	l[key] = val
	return nil
}

func main() {
	options := sidecarOptions{labels: labelFlags{}}
	flag.StringVar(&options.xdsAddress, "xds", "", "istiod's plaintext xDS address, host:port (its --grpcAddr)")
	flag.StringVar(&options.podName, "pod-name", "", "name of the pod this sidecar belongs to")
	flag.StringVar(&options.podNamespace, "pod-namespace", "", "namespace of that pod")
	flag.StringVar(&options.podIP, "pod-ip", "", "IP of that pod (status.podIP)")
	flag.Var(options.labels, "label", "a label of that pod, key=value (repeatable)")
	flag.StringVar(&options.domain, "domain", "cluster.local", "the mesh's DNS domain")
	flag.StringVar(&options.host, "host", "", "destination host to report, e.g. web.ns.svc.cluster.local")
	flag.IntVar(&options.port, "port", 80, "destination port; its outbound route is the one subscribed to")
	flag.DurationVar(&options.applyDelay, "apply-delay", 0, "wait this long after each push before applying and ACKing it (a slow proxy)")
	flag.Parse()
	for name, value := range map[string]string{"xds": options.xdsAddress, "pod-name": options.podName,
		"pod-namespace": options.podNamespace, "pod-ip": options.podIP, "host": options.host} {
		if value == "" {
			fmt.Fprintf(os.Stderr, "sidecar: --%s is required\n", name)
			os.Exit(2)
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	proxy := newSidecar(options, newJSONLines(os.Stdout))
	for ctx.Err() == nil {
		err := proxy.session(ctx)
		if ctx.Err() != nil {
			break
		}
		// Envoy keeps what it applied while it reconnects; so does this.
		fmt.Fprintf(os.Stderr, "sidecar: xDS stream to %s ended (%v); reconnecting in 1s\n", options.xdsAddress, err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
