package main_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copySources copies the agent module (without test caches or build output)
// to dst, as a fresh clone would have it.
func copySources(t *testing.T, dst string) {
	t.Helper()
	err := filepath.WalkDir(agentDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(agentDir, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return string(out)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestReproducibleBuild builds from two copies of the sources at different
// paths, one of them touched and chmod-ed, and expects identical bytes.
func TestReproducibleBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs build.sh twice; skipped with -short")
	}
	tmp := t.TempDir()
	srcA, srcB := filepath.Join(tmp, "a", "agent"), filepath.Join(tmp, "clone-b", "agent")
	copySources(t, srcA)
	copySources(t, srcB)
	// A touch or a mode change alone must change neither hash nor bytes.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(srcB, "cmd/dp-agent/main.go"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(srcB, "VERSION"), 0o755); err != nil {
		t.Fatal(err)
	}

	hashA := strings.TrimSpace(run(t, srcA, "bash", "source-hash.sh"))
	hashB := strings.TrimSpace(run(t, srcB, "bash", "source-hash.sh"))
	if hashA != hashB || len(hashA) != 64 {
		t.Fatalf("source hash differs: %q vs %q", hashA, hashB)
	}

	outA, outB := filepath.Join(tmp, "outA"), filepath.Join(tmp, "outB")
	sumA := lastLine(run(t, srcA, "bash", "build.sh", "--out", outA))
	sumB := lastLine(run(t, srcB, "bash", "build.sh", "--out", outB))
	a, err := os.ReadFile(filepath.Join(outA, "dp-agent.gz"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(outB, "dp-agent.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || sumA != sumB {
		t.Fatalf("builds differ: %s (%d bytes) vs %s (%d bytes)", sumA, len(a), sumB, len(b))
	}
	if float64(len(a)) > 4.90*1024*1024 {
		t.Fatalf("dp-agent.gz is %d bytes, over the 4.90 MiB budget", len(a))
	}
	sumFile, _ := os.ReadFile(filepath.Join(outA, "dp-agent.gz.sha256"))
	if string(sumFile) != sumA+"  dp-agent.gz\n" {
		t.Fatalf("sha256 file %q", sumFile)
	}
	check := exec.Command("sha256sum", "-c", "dp-agent.gz.sha256")
	check.Dir = outA
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v %s", err, out)
	}
	// The default commit is the content hash, so the binary says where it came from.
	gunzip := exec.Command("sh", "-c", "gzip -dc dp-agent.gz > dp-agent && chmod +x dp-agent && ./dp-agent version")
	gunzip.Dir = outA
	out, err := gunzip.Output()
	if err != nil || !strings.Contains(string(out), "commit="+hashA[:12]) || !strings.Contains(string(out), "provider=aws") {
		t.Fatalf("version of built binary: %q %v", out, err)
	}

	// An edit changes the hash.
	if err := os.WriteFile(filepath.Join(srcB, "VERSION"), []byte("0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if h := strings.TrimSpace(run(t, srcB, "bash", "source-hash.sh")); h == hashA {
		t.Fatal("source hash did not change after an edit")
	}
}

func TestBuildArgs(t *testing.T) {
	for _, args := range [][]string{{}, {"--out", t.TempDir(), "--arch", "386"}, {"--out", t.TempDir(), "--provider", "AWS x"}, {"--bogus"}} {
		cmd := exec.Command("bash", append([]string{"build.sh"}, args...)...)
		cmd.Dir = agentDir
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("build.sh %v: want exit 2, got %v: %s", args, err, out)
		}
	}
}

// TestUnitFile runs systemd-analyze verify on dp-agent.service, with
// ExecStart pointed at an existing binary (verify checks it is executable).
func TestUnitFile(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join(agentDir, "dp-agent.service"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{
		"ExecStart=/usr/local/bin/dp-agent\n", "Restart=on-failure\n", "DynamicUser=yes\n", "NoNewPrivileges=yes\n",
		"ProtectSystem=strict\n", "ProtectHome=yes\n", "PrivateTmp=yes\n", "CapabilityBoundingSet=\n",
		"After=network-online.target\n", "Wants=network-online.target\n", "After=couchbase-server.service\n",
		"Description=", "Documentation=",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("unit file lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not available: skipping `systemd-analyze verify`")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "dp-agent")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(text, "ExecStart=/usr/local/bin/dp-agent", "ExecStart="+fake, 1)
	path := filepath.Join(dir, "dp-agent.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
