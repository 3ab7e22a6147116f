// Package agent wires configuration, identity, the Couchbase watch and the
// status API together; cmd/dp-agent only passes build info and signals.
package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/couchbase-images/dp-agent/internal/buildinfo"
	"github.com/couchbase-images/dp-agent/internal/config"
	"github.com/couchbase-images/dp-agent/internal/couchbase"
	"github.com/couchbase-images/dp-agent/internal/imds"
	"github.com/couchbase-images/dp-agent/internal/logging"
	"github.com/couchbase-images/dp-agent/internal/server"
)

// ShutdownTimeout bounds the whole shutdown after SIGTERM (systemd's
// TimeoutStopSec is longer; the issue asks for 5 s).
const ShutdownTimeout = 4 * time.Second

// Exit codes.
const (
	ExitOK     = 0
	ExitError  = 1
	ExitConfig = 2
)

// Run runs the agent until ctx is cancelled (SIGTERM) and returns the exit
// code. args excludes the program name.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, build buildinfo.Info) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Fprintln(stdout, build.String())
		return ExitOK
	}
	if err := build.Validate(); err != nil {
		fmt.Fprintf(stderr, "dp-agent: %v\n", err)
		return ExitConfig
	}
	cfg, err := config.Load(args, os.Getenv, os.ReadFile, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "dp-agent: configuration: %v\n", err)
		return ExitConfig
	}
	log := logging.New(stderr, cfg.LogLevel)
	if err := serve(ctx, cfg, build, log); err != nil {
		log.Error("agent failed", "error", err.Error())
		return ExitError
	}
	return ExitOK
}

func newIMDSClient(provider string, cfg config.Config) imds.Client {
	switch provider {
	case "aws":
		return imds.NewAWS(cfg.IMDSEndpoint, cfg.HTTPTimeout)
	default: // unreachable: build.Validate() guards the provider list
		panic("no metadata client for provider " + provider)
	}
}

func serve(ctx context.Context, cfg config.Config, build buildinfo.Info, log *slog.Logger) error {
	started := time.Now()
	log.Info("starting", "version", build.Version, "commit", build.Commit, "provider", build.Provider,
		"configFile", cfg.File, "couchbaseURL", cfg.CouchbaseURL, "imdsEndpoint", cfg.IMDSEndpoint,
		"couchbaseCredentials", cfg.CouchbaseCredentialsFile != "")

	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	if ip := net.ParseIP(cfg.ListenAddress); ip != nil && !ip.IsLoopback() {
		log.Warn("status API is not on loopback", "address", cfg.ListenAddress)
	}

	tracker := &imds.Tracker{
		Client:  newIMDSClient(build.Provider, cfg),
		Backoff: imds.Backoff{Initial: time.Second, Max: 30 * time.Second},
		OnError: func(err error, attempt int, next time.Duration) {
			log.Warn("instance identity not available yet", "error", err.Error(), "attempt", attempt, "retryIn", next.String())
		},
	}
	watcher := couchbase.NewWatcher(cfg.CouchbaseURL, cfg.CouchbaseCredentialsFile, cfg.CouchbaseInstallPath, cfg.PollInterval, cfg.HTTPTimeout)
	watcher.OnChange = func(old, cur couchbase.Status) {
		log.Info("couchbase state changed", "from", string(old.State), "to", string(cur.State), "lastError", cur.LastError, "version", cur.Version)
	}
	handler := server.New(server.Sources{
		Build:     build,
		StartedAt: started,
		Identity:  tracker.Status,
		Couchbase: watcher.Status,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}

	bgCtx, cancelBG := context.WithCancel(ctx)
	defer cancelBG()
	var wg sync.WaitGroup
	wg.Go(func() {
		tracker.Run(bgCtx)
		if s := tracker.Status(); s.Identity != nil {
			log.Info("instance identity resolved", "instanceId", s.Identity.InstanceID, "region", s.Identity.Region,
				"availabilityZone", s.Identity.AvailabilityZone, "instanceType", s.Identity.InstanceType)
		}
	})
	wg.Go(func() { watcher.Run(bgCtx) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "address", ln.Addr().String())

	select {
	case err := <-serveErr:
		cancelBG()
		wg.Wait()
		return fmt.Errorf("status API: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	cancelBG()
	err = srv.Shutdown(shutdownCtx)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-shutdownCtx.Done():
		log.Warn("background work did not stop in time")
	}
	if err != nil {
		_ = srv.Close()
		log.Warn("forced close of open connections", "error", err.Error())
	}
	log.Info("stopped", "uptimeSeconds", time.Since(started).Seconds())
	return nil
}
