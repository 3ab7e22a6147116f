// Command couchbase-server is a STAND-IN for Couchbase Server, not Couchbase Server: the program
// the stand-in couchbase-server package (scripts/local/standin-couchbase.sh) installs at
// /opt/couchbase/bin/couchbase-server, so offline image builds and boot tests have a service that
// answers the REST calls the image's agent makes, as an uninitialised node answers them.
//
// It serves, on --listen (default 127.0.0.1:8091, loopback only):
//   - GET /pools: 200, the document of a node that is in no cluster yet ("pools": []);
//   - GET /pools/default: 401 without credentials, 404 "unknown pool" with any (no cluster);
//   - anything else: 404; methods other than GET and HEAD: 405.
//
// It writes nothing (no node state) and exits 0 on SIGTERM or SIGINT. Standard library only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Set by standin-couchbase.sh with -ldflags -X.
var (
	version = "0.0.0"
	edition = "enterprise"
)

// Notice says what this program is, wherever it identifies itself.
const Notice = "STAND-IN for Couchbase Server, not Couchbase Server (built by scripts/local/standin-couchbase.sh for tests)"

// Pools is the GET /pools document of an uninitialised node: the fields the agent reads
// ("pools", "implementationVersion") and a few more a real node sends, plus "standIn".
type Pools struct {
	IsAdminCreds          bool     `json:"isAdminCreds"`
	IsROAdminCreds        bool     `json:"isROAdminCreds"`
	IsEnterprise          bool     `json:"isEnterprise"`
	Pools                 []any    `json:"pools"`
	Settings              []any    `json:"settings"`
	UUID                  []any    `json:"uuid"`
	ImplementationVersion string   `json:"implementationVersion"`
	StandIn               string   `json:"standIn"`
	AllowedServices       []string `json:"allowedServices"`
}

// NewHandler returns the REST handler for the given release (X.Y.Z) and edition.
func NewHandler(version, edition string) http.Handler {
	pools := Pools{
		IsEnterprise:          edition == "enterprise",
		Pools:                 []any{},
		Settings:              []any{},
		UUID:                  []any{},
		ImplementationVersion: fmt.Sprintf("%s-standin-%s", version, edition),
		StandIn:               Notice,
		AllowedServices:       []string{"kv"},
	}
	body, err := json.Marshal(pools)
	if err != nil {
		panic(err) // a fixed struct of strings, bools and slices always encodes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch r.URL.Path {
		case "/pools":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		case "/pools/default":
			if _, _, ok := r.BasicAuth(); !ok {
				w.Header().Set("WWW-Authenticate", `Basic realm="Couchbase Server Admin / REST"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`"unknown pool"`))
		default:
			http.Error(w, "Not found.", http.StatusNotFound)
		}
	})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8091", "address to serve the stand-in REST API on")
	showVersion := flag.Bool("version", false, "print what this program is and exit")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "%s\n\nusage: %s [--listen ADDR] [--version]\n", Notice, os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if *showVersion {
		fmt.Printf("couchbase-server %s (%s): %s\n", version, edition, Notice)
		return
	}
	if err := serve(*listen); err != nil {
		fmt.Fprintf(os.Stderr, "couchbase-server (STAND-IN): %v\n", err)
		os.Exit(1)
	}
}

func serve(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: NewHandler(version, edition), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(os.Stderr, "couchbase-server %s (%s): %s; serving an uninitialised node's REST API on %s\n", version, edition, Notice, addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
