package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/couchbase-images/dp-agent/internal/buildinfo"
	"github.com/couchbase-images/dp-agent/internal/couchbase"
	"github.com/couchbase-images/dp-agent/internal/fakes"
	"github.com/couchbase-images/dp-agent/internal/imds"
	"github.com/couchbase-images/dp-agent/internal/server"
)

func newHandler(state couchbase.State, id *imds.Identity) *server.Handler {
	start := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return server.New(server.Sources{
		Build:     buildinfo.Info{Provider: "aws", Version: "0.2.0", Commit: "abc123"},
		StartedAt: start,
		Now:       func() time.Time { return start.Add(90 * time.Second) },
		Identity:  func() imds.Status { return imds.Status{Identity: id, Attempts: 1} },
		Couchbase: func() couchbase.Status {
			return couchbase.Status{State: state, Since: start, LastError: "GET /pools: connection refused", Checks: 3}
		},
	})
}

func get(t *testing.T, h http.Handler, method, path string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b), rec.Header()
}

func TestEndpoints(t *testing.T) {
	id := fakes.SampleIdentity
	cases := []struct {
		name     string
		state    couchbase.State
		method   string
		path     string
		wantCode int
		wantBody string
	}{
		{"healthz", couchbase.Unhealthy, "GET", "/healthz", 200, `"ok"`},
		{"healthz head", couchbase.Unhealthy, "HEAD", "/healthz", 200, ""},
		{"readyz healthy", couchbase.Healthy, "GET", "/readyz", 200, `"healthy"`},
		{"readyz starting", couchbase.Starting, "GET", "/readyz", 503, `"starting"`},
		{"readyz uninitialized", couchbase.Uninitialized, "GET", "/readyz", 503, `"uninitialized"`},
		{"node", couchbase.Healthy, "GET", "/v1/node", 200, `"instanceId":"i-0123456789abcdef0"`},
		{"metrics", couchbase.Healthy, "GET", "/metrics", 200, `dp_agent_couchbase_state{state="healthy"} 1`},
		{"post", couchbase.Healthy, "POST", "/v1/node", 405, ""},
		{"unknown", couchbase.Healthy, "GET", "/v2/node", 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := get(t, newHandler(tc.state, &id), tc.method, tc.path)
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestNodeDocument(t *testing.T) {
	id := fakes.SampleIdentity
	code, body, hdr := get(t, newHandler(couchbase.Healthy, &id), "GET", "/v1/node")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("code %d, content type %q", code, hdr.Get("Content-Type"))
	}
	var n server.Node
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		t.Fatal(err)
	}
	if n.Agent.Provider != "aws" || n.Agent.Version != "0.2.0" || n.Agent.Commit != "abc123" || n.Agent.UptimeSeconds != 90 ||
		n.Identity == nil || *n.Identity != id || n.Couchbase.State != couchbase.Healthy || n.Couchbase.Checks != 3 {
		t.Fatalf("node = %+v", n)
	}
}

func TestNodeWithoutIdentity(t *testing.T) {
	_, body, _ := get(t, newHandler(couchbase.Starting, nil), "GET", "/v1/node")
	if !strings.Contains(body, `"identity":null`) {
		t.Fatalf("body %s", body)
	}
}

func TestMetricsFormat(t *testing.T) {
	id := fakes.SampleIdentity
	h := newHandler(couchbase.Starting, &id)
	get(t, h, "GET", "/v1/node")
	get(t, h, "GET", "/nope")
	_, body, hdr := get(t, h, "GET", "/metrics")
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", hdr.Get("Content-Type"))
	}
	for _, want := range []string{
		`dp_agent_build_info{provider="aws",version="0.2.0",commit="abc123",goversion="go`,
		`dp_agent_couchbase_state{state="starting"} 1`,
		`dp_agent_couchbase_state{state="healthy"} 0`,
		`dp_agent_identity_resolved 1`,
		`dp_agent_http_requests_total{path="/v1/node"} 1`,
		`dp_agent_http_requests_total{path="other"} 1`,
		"# TYPE dp_agent_couchbase_checks_total counter",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Every sample line is "name{labels} value" or "name value".
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); len(f) < 2 {
			t.Errorf("bad sample line %q", line)
		}
	}
}
