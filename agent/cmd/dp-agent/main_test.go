package main_test

// These tests build the real binary and run it as a process: against the
// fake IMDS and fake Couchbase REST servers, under SIGTERM, with a bad
// provider; they also check the unit file and the reproducible build.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/couchbase-images/dp-agent/internal/fakes"
	"github.com/couchbase-images/dp-agent/internal/server"
)

// agentDir is the module root (this package is cmd/dp-agent).
var agentDir, _ = filepath.Abs("../..")

func buildBinary(t *testing.T, provider string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "dp-agent")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", fmt.Sprintf("-X main.Provider=%s -X main.Version=9.9.9-test -X main.Commit=testcommit", provider), ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// agentProc is a running dp-agent with its JSON log lines.
type agentProc struct {
	cmd  *exec.Cmd
	base string
	logs chan map[string]any
	done chan error
}

func startAgent(t *testing.T, bin string, env ...string) *agentProc {
	t.Helper()
	emptyConfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(emptyConfig, []byte("# empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", emptyConfig, "--port", "0")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProc{cmd: cmd, logs: make(chan map[string]any, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"msg": "NOT JSON", "line": sc.Text()}
			}
			p.logs <- m
		}
		close(p.logs)
	}()
	go func() { p.done <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	m := p.waitLog(t, "listening", 10*time.Second)
	p.base = "http://" + m["address"].(string)
	return p
}

func (p *agentProc) waitLog(t *testing.T, msg string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-p.logs:
			if !ok {
				t.Fatalf("log closed before %q", msg)
			}
			if m["msg"] == "NOT JSON" {
				t.Fatalf("log line is not JSON: %q", m["line"])
			}
			if m["msg"] == msg {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q log line within %v", msg, timeout)
		}
	}
}

func (p *agentProc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(p.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeServices starts the fake IMDS and fake Couchbase and returns the
// environment that points the agent at them, with credentials.
func fakeServices(t *testing.T, imdsFake *fakes.IMDS, cb *fakes.Couchbase) []string {
	t.Helper()
	imdsSrv := httptest.NewServer(imdsFake)
	t.Cleanup(imdsSrv.Close)
	cbSrv := httptest.NewServer(cb)
	t.Cleanup(cbSrv.Close)
	creds := filepath.Join(t.TempDir(), "couchbase")
	if err := os.WriteFile(creds, []byte(fakes.CBUser+":"+fakes.CBPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{
		"DP_AGENT_IMDS_ENDPOINT=" + imdsSrv.URL,
		"DP_AGENT_COUCHBASE_URL=" + cbSrv.URL,
		"DP_AGENT_COUCHBASE_CREDENTIALS_FILE=" + creds,
		"DP_AGENT_POLL_INTERVAL=50ms",
	}
}

// waitExit fails unless the agent exits with status 0 within 5 s (of the
// SIGTERM the caller just sent); what names the case in the failure.
func (p *agentProc) waitExit(t *testing.T, what string) {
	t.Helper()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not exit within 5 s of SIGTERM", what)
	}
}

func TestBinaryAgainstFakes(t *testing.T) {
	bin := buildBinary(t, "aws")
	cb := fakes.NewCouchbase(fakes.CBHealthy)
	p := startAgent(t, bin, fakeServices(t, &fakes.IMDS{Identity: fakes.SampleIdentity, FailFirst: 1}, cb)...)

	var node server.Node
	eventually(t, "identity and healthy Couchbase in /v1/node", func() bool {
		code, body := p.get(t, "/v1/node")
		if code != 200 {
			t.Fatalf("/v1/node: %d %s", code, body)
		}
		node = server.Node{}
		if err := json.Unmarshal([]byte(body), &node); err != nil {
			t.Fatalf("/v1/node is not JSON: %v: %s", err, body)
		}
		return node.Identity != nil && node.Couchbase.State == "healthy"
	})
	if *node.Identity != fakes.SampleIdentity || node.Agent.Provider != "aws" || node.Agent.Version != "9.9.9-test" ||
		node.Agent.Commit != "testcommit" || node.Couchbase.Version != "7.6.2-3721-enterprise" {
		t.Fatalf("node = %+v", node)
	}
	if code, _ := p.get(t, "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if code, _ := p.get(t, "/readyz"); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	if _, body := p.get(t, "/metrics"); !strings.Contains(body, `dp_agent_couchbase_state{state="healthy"} 1`) ||
		!strings.Contains(body, "process_resident_memory_bytes ") {
		t.Fatalf("/metrics:\n%s", body)
	}

	cb.SetMode(fakes.CBUninitialized)
	eventually(t, "/readyz 503 once Couchbase is uninitialized", func() bool {
		code, body := p.get(t, "/readyz")
		return code == 503 && strings.Contains(body, "uninitialized")
	})

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, "agent")
	t.Logf("stopped %v after SIGTERM", time.Since(start))
}

func TestBinaryShutdownWithIMDSDown(t *testing.T) {
	bin := buildBinary(t, "aws")
	// Nothing answers on these ports: identity retries, Couchbase not installed.
	p := startAgent(t, bin,
		"DP_AGENT_IMDS_ENDPOINT=http://127.0.0.1:1",
		"DP_AGENT_COUCHBASE_URL=http://127.0.0.1:1",
		"DP_AGENT_COUCHBASE_INSTALL_PATH=/nonexistent/couchbase-server",
	)
	eventually(t, "not-installed state", func() bool {
		_, body := p.get(t, "/v1/node")
		return strings.Contains(body, `"state":"not-installed"`) && strings.Contains(body, `"identity":null`)
	})
	if code, _ := p.get(t, "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitExit(t, "agent")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
}

func TestBinaryShutdownWithHangingServices(t *testing.T) {
	bin := buildBinary(t, "aws")
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	p := startAgent(t, bin,
		"DP_AGENT_IMDS_ENDPOINT="+hang.URL,
		"DP_AGENT_COUCHBASE_URL="+hang.URL,
		"DP_AGENT_HTTP_TIMEOUT=1m",
	)
	time.Sleep(200 * time.Millisecond) // both requests are now in flight
	if code, _ := p.get(t, "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitExit(t, "agent with requests in flight")
	t.Logf("stopped %v after SIGTERM", time.Since(start))
}

func TestBinaryVersionAndProvider(t *testing.T) {
	bin := buildBinary(t, "aws")
	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "dp-agent version=9.9.9-test commit=testcommit provider=aws" {
		t.Fatalf("version: %q %v", out, err)
	}
	for _, provider := range []string{"", "gcp"} {
		bad := buildBinary(t, provider)
		cmd := exec.Command(bad)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "unknown provider") {
			t.Fatalf("provider %q: err=%v out=%q", provider, err, out)
		}
	}
	bad := exec.Command(bin, "--port", "nope")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "DP_AGENT_PORT") {
		t.Fatalf("bad port: err=%v out=%q", err, out)
	}
}
