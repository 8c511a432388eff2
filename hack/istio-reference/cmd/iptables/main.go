// iptables: Istio's own istio-iptables command (the one pilot-agent runs in istio-init), so that the
// tests can run it with --dry-run on the arguments the injector writes.
package main

import (
	"os"

	iptables "istio.io/istio/tools/istio-iptables/pkg/cmd"
	"istio.io/istio/pkg/log"
)

func main() {
	// pilot-agent attaches the logging flags (--log_output_level, ...) that istio-init passes.
	logOptions := log.DefaultOptions()
	command := iptables.GetCommand(logOptions)
	logOptions.AttachCobraFlags(command)
	command.SetArgs(os.Args[1:])
	if err := command.Execute(); err != nil {
		os.Exit(1)
	}
}
