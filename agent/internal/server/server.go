// Package server is the agent's local status API: /healthz, /readyz,
// /v1/node (JSON) and /metrics (Prometheus text format 0.0.4).
package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/couchbase-images/dp-agent/internal/buildinfo"
	"github.com/couchbase-images/dp-agent/internal/couchbase"
	"github.com/couchbase-images/dp-agent/internal/imds"
)

// Sources are the live views the API reports; each must be safe for
// concurrent use.
type Sources struct {
	Build     buildinfo.Info
	StartedAt time.Time
	Identity  func() imds.Status
	Couchbase func() couchbase.Status
	Now       func() time.Time
}

// Node is the /v1/node document.
type Node struct {
	Agent     AgentInfo        `json:"agent"`
	Identity  *imds.Identity   `json:"identity"`
	IMDS      IMDSInfo         `json:"imds"`
	Couchbase couchbase.Status `json:"couchbase"`
}

// AgentInfo describes the agent itself.
type AgentInfo struct {
	buildinfo.Info
	StartedAt     time.Time `json:"startedAt"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
}

// IMDSInfo reports how identity resolution is going.
type IMDSInfo struct {
	LastError string `json:"lastError,omitempty"`
	Attempts  int    `json:"attempts"`
}

var paths = []string{"/healthz", "/readyz", "/v1/node", "/metrics"}

// Handler serves the status API.
type Handler struct {
	src      Sources
	mux      *http.ServeMux
	requests map[string]*atomic.Uint64
}

// New returns the status API handler.
func New(src Sources) *Handler {
	if src.Now == nil {
		src.Now = time.Now
	}
	h := &Handler{src: src, mux: http.NewServeMux(), requests: map[string]*atomic.Uint64{}}
	for _, p := range append(paths, "other") {
		h.requests[p] = new(atomic.Uint64)
	}
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.HandleFunc("GET /v1/node", h.node)
	h.mux.HandleFunc("GET /metrics", h.metrics)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, ok := h.requests[r.URL.Path]; ok {
		c.Add(1)
	} else {
		h.requests["other"].Add(1)
	}
	h.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) readyz(w http.ResponseWriter, _ *http.Request) {
	cb := h.src.Couchbase()
	status := http.StatusServiceUnavailable
	if cb.State == couchbase.Healthy {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]string{"couchbase": string(cb.State), "lastError": cb.LastError})
}

// Snapshot builds the /v1/node document.
func (h *Handler) Snapshot() Node {
	id := h.src.Identity()
	return Node{
		Agent: AgentInfo{
			Info:          h.src.Build,
			StartedAt:     h.src.StartedAt.UTC(),
			UptimeSeconds: h.src.Now().Sub(h.src.StartedAt).Seconds(),
		},
		Identity:  id.Identity,
		IMDS:      IMDSInfo{LastError: id.LastError, Attempts: id.Attempts},
		Couchbase: h.src.Couchbase(),
	}
}

func (h *Handler) node(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, h.Snapshot())
}

func (h *Handler) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(h.Metrics()))
}

// Metrics renders the Prometheus text exposition.
func (h *Handler) Metrics() string {
	var b strings.Builder
	metric := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	bi := h.src.Build
	metric("dp_agent_build_info", "gauge", "Build identity of the agent; always 1.")
	fmt.Fprintf(&b, "dp_agent_build_info{provider=%q,version=%q,commit=%q,goversion=%q} 1\n", bi.Provider, bi.Version, bi.Commit, runtime.Version())
	metric("dp_agent_start_time_seconds", "gauge", "Unix time the agent started.")
	fmt.Fprintf(&b, "dp_agent_start_time_seconds %d\n", h.src.StartedAt.Unix())

	id := h.src.Identity()
	metric("dp_agent_identity_resolved", "gauge", "1 when the instance identity was read from the metadata service.")
	fmt.Fprintf(&b, "dp_agent_identity_resolved %d\n", boolInt(id.Identity != nil))
	metric("dp_agent_imds_attempts_total", "counter", "Identity resolution attempts.")
	fmt.Fprintf(&b, "dp_agent_imds_attempts_total %d\n", id.Attempts)

	cb := h.src.Couchbase()
	metric("dp_agent_couchbase_state", "gauge", "1 for the current Couchbase Server state, 0 for the others.")
	for _, s := range couchbase.States {
		fmt.Fprintf(&b, "dp_agent_couchbase_state{state=%q} %d\n", s, boolInt(cb.State == s))
	}
	metric("dp_agent_couchbase_state_since_seconds", "gauge", "Unix time the current state began.")
	fmt.Fprintf(&b, "dp_agent_couchbase_state_since_seconds %d\n", cb.Since.Unix())
	metric("dp_agent_couchbase_checks_total", "counter", "Couchbase Server checks performed.")
	fmt.Fprintf(&b, "dp_agent_couchbase_checks_total %d\n", cb.Checks)
	metric("dp_agent_couchbase_check_errors_total", "counter", "Checks that found a problem.")
	fmt.Fprintf(&b, "dp_agent_couchbase_check_errors_total %d\n", cb.CheckErrors)

	metric("dp_agent_http_requests_total", "counter", "Status API requests by path.")
	for _, p := range append(paths, "other") {
		fmt.Fprintf(&b, "dp_agent_http_requests_total{path=%q} %d\n", p, h.requests[p].Load())
	}
	if rss, ok := residentBytes(); ok {
		metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
		fmt.Fprintf(&b, "process_resident_memory_bytes %d\n", rss)
	}
	metric("go_goroutines", "gauge", "Number of goroutines.")
	fmt.Fprintf(&b, "go_goroutines %d\n", runtime.NumGoroutine())
	return b.String()
}

// residentBytes reads the resident set size from /proc/self/statm (Linux).
func residentBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
