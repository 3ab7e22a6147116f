package main_test

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/couchbase-images/dp-agent/internal/fakes"
)

// syscallSet expands SystemCallFilter groups (e.g. @system-service) into
// syscall names with `systemd-analyze syscall-filter`.
func syscallSet(t *testing.T, analyze string, items []string, seen map[string]bool) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, item := range items {
		if !strings.HasPrefix(item, "@") {
			out[item] = true
			continue
		}
		if seen[item] {
			continue
		}
		seen[item] = true
		text, err := exec.Command(analyze, "syscall-filter", item).Output()
		if err != nil {
			t.Fatalf("systemd-analyze syscall-filter %s: %v", item, err)
		}
		var nested []string
		for _, line := range strings.Split(string(text), "\n")[1:] {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			nested = append(nested, line)
		}
		for k := range syscallSet(t, analyze, nested, seen) {
			out[k] = true
		}
	}
	return out
}

// TestSyscallsAllowedByUnitFilter runs the real binary under strace through
// start, every endpoint, both watchers and SIGTERM, and checks that every
// system call it made passes the unit's SystemCallFilter, so the hardening
// cannot make the agent fail on a node.
func TestSyscallsAllowedByUnitFilter(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not available: skipping the system call filter check")
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not available: skipping the system call filter check")
	}
	bin := buildBinary(t, "aws")

	unit, err := os.ReadFile(filepath.Join(agentDir, "dp-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	var allowItems, denyItems []string
	for _, line := range strings.Split(string(unit), "\n") {
		v, ok := strings.CutPrefix(line, "SystemCallFilter=")
		if !ok {
			continue
		}
		if d, deny := strings.CutPrefix(v, "~"); deny {
			denyItems = append(denyItems, strings.Fields(d)...)
		} else {
			allowItems = append(allowItems, strings.Fields(v)...)
		}
	}
	if len(allowItems) == 0 {
		t.Fatal("unit has no SystemCallFilter allow list")
	}
	allowed := syscallSet(t, analyze, allowItems, map[string]bool{})
	denied := syscallSet(t, analyze, denyItems, map[string]bool{})

	env := fakeServices(t, &fakes.IMDS{Identity: fakes.SampleIdentity}, fakes.NewCouchbase(fakes.CBHealthy))
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	// strace execs the agent; the trace then starts with strace's own execve
	// into the agent, which systemd performs before the filter applies.
	wrapper := filepath.Join(dir, "traced-agent")
	script := "#!/bin/sh\nexec " + strace + " -f -qq -o " + trace + " " + bin + ` "$@"` + "\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p := startAgent(t, wrapper, env...)
	eventually(t, "healthy node", func() bool {
		_, body := p.get(t, "/v1/node")
		return strings.Contains(body, `"state":"healthy"`) && !strings.Contains(body, `"identity":null`)
	})
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/nope"} {
		p.get(t, path)
	}
	resp, err := http.Post(p.base+"/v1/node", "text/plain", nil)
	if err == nil {
		resp.Body.Close()
	}

	// SIGTERM the agent itself (the first pid in the trace), as systemd would.
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := bufio.NewReader(f).ReadString(' ')
	f.Close()
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("trace does not start with a pid: %q", first)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, "traced agent")

	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]`)
	used := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			used[m[1]] = true
		}
	}
	if len(used) < 10 {
		t.Fatalf("trace parsed to too few system calls (%d): %s", len(used), data[:min(len(data), 500)])
	}
	var bad []string
	for name := range used {
		if name == "execve" {
			continue // the exec into the agent happens before the filter applies
		}
		if !allowed[name] || denied[name] {
			bad = append(bad, name)
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Fatalf("system calls the unit's SystemCallFilter would refuse: %v", bad)
	}
	t.Logf("%d distinct system calls, all allowed", len(used))
}
