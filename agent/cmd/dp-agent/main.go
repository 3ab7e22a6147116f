// Command dp-agent is the data-plane agent of Couchbase Server node images.
// All logic lives in internal/; this file carries the build-time identity set
// with -ldflags "-X main.Provider=aws -X main.Version=... -X main.Commit=...".
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/couchbase-images/dp-agent/internal/agent"
	"github.com/couchbase-images/dp-agent/internal/buildinfo"
)

// Set by the linker (agent/build.sh).
var (
	Provider string
	Version  string
	Commit   string
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := agent.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, buildinfo.Info{Provider: Provider, Version: Version, Commit: Commit})
	stop()
	os.Exit(code)
}
