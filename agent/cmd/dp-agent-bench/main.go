// Command dp-agent-bench measures a built dp-agent: resident memory when
// idle and under load, and the latency of GET /v1/node at a fixed request
// rate over loopback. It serves the fake IMDS and fake Couchbase REST API
// itself, so the agent runs its normal code paths. Run by bench/agent/run.sh.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/couchbase-images/dp-agent/internal/fakes"
)

// Targets from issue 4.
const (
	targetIdleRSSKiB = 10 * 1024
	targetP99        = 5 * time.Millisecond
	targetGzBytes    = 4.90 * 1024 * 1024
)

func main() {
	agent := flag.String("agent", "", "path of the dp-agent binary (required)")
	gz := flag.String("gz", "", "path of dp-agent.gz, to report its size")
	rate := flag.Int("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "load duration")
	idle := flag.Duration("idle", 3*time.Second, "settle time before the idle RSS sample")
	workers := flag.Int("workers", 32, "concurrent client connections")
	flag.Parse()
	if *agent == "" {
		fmt.Fprintln(os.Stderr, "dp-agent-bench: --agent is required")
		os.Exit(2)
	}
	ok, err := run(*agent, *gz, *rate, *duration, *idle, *workers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dp-agent-bench:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(agentPath, gzPath string, rate int, duration, idle time.Duration, workers int) (bool, error) {
	imdsSrv := httptest.NewServer(&fakes.IMDS{Identity: fakes.SampleIdentity})
	defer imdsSrv.Close()
	cbSrv := httptest.NewServer(fakes.NewCouchbase(fakes.CBHealthy))
	defer cbSrv.Close()
	dir, err := os.MkdirTemp("", "dp-agent-bench")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(dir)
	creds := filepath.Join(dir, "couchbase")
	if err := os.WriteFile(creds, []byte(fakes.CBUser+":"+fakes.CBPassword), 0o600); err != nil {
		return false, err
	}
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		return false, err
	}

	cmd := exec.Command(agentPath, "--config", cfg, "--port", "0")
	cmd.Env = []string{
		"DP_AGENT_IMDS_ENDPOINT=" + imdsSrv.URL,
		"DP_AGENT_COUCHBASE_URL=" + cbSrv.URL,
		"DP_AGENT_COUCHBASE_CREDENTIALS_FILE=" + creds,
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return false, err
	}
	if err := cmd.Start(); err != nil {
		return false, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addr, err := listeningAddr(stderr)
	if err != nil {
		return false, err
	}
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}, Timeout: 2 * time.Second}
	if err := waitReady(client, base); err != nil {
		return false, err
	}

	time.Sleep(idle)
	idleRSS, err := rssKiB(cmd.Process.Pid)
	if err != nil {
		return false, err
	}

	var peak atomic.Int64
	stopSampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				if v, err := rssKiB(cmd.Process.Pid); err == nil && int64(v) > peak.Load() {
					peak.Store(int64(v))
				}
			}
		}
	})
	res := load(client, base+"/v1/node", rate, duration, workers)
	close(stopSampling)
	sampler.Wait()
	afterRSS, _ := rssKiB(cmd.Process.Pid)
	hwm, _ := statusKiB(cmd.Process.Pid, "VmHWM:")

	var gzSize int64 = -1
	if gzPath != "" {
		if st, err := os.Stat(gzPath); err == nil {
			gzSize = st.Size()
		}
	}

	pass := true
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		pass = false
		return "FAIL"
	}
	p := func(q float64) time.Duration { return percentile(res.latencies, q) }
	fmt.Printf("%-34s %14s %14s %6s\n", "metric", "value", "target", "")
	row := func(name, value, target, v string) { fmt.Printf("%-34s %14s %14s %6s\n", name, value, target, v) }
	row("RSS idle (VmRSS)", mib(idleRSS), "<= 10.00 MiB", verdict(idleRSS <= targetIdleRSSKiB))
	row("RSS under load, peak (VmRSS)", mib(int(peak.Load())), "", "")
	row("RSS after load (VmRSS)", mib(afterRSS), "", "")
	row("VmHWM (lifetime peak)", mib(hwm), "", "")
	row("requests sent / errors", fmt.Sprintf("%d / %d", res.sent, res.errors), "0 errors", verdict(res.errors == 0))
	row("achieved rate", fmt.Sprintf("%.0f req/s", float64(res.sent)/res.elapsed.Seconds()), fmt.Sprintf("%d req/s", rate), "")
	row("latency p50 /v1/node", ms(p(0.50)), "", "")
	row("latency p90 /v1/node", ms(p(0.90)), "", "")
	row("latency p99 /v1/node", ms(p(0.99)), "< 5.000 ms", verdict(p(0.99) < targetP99))
	row("latency max /v1/node", ms(p(1)), "", "")
	row("service time p50 (from send)", ms(percentile(res.service, 0.5)), "", "")
	row("service time p99 (from send)", ms(percentile(res.service, 0.99)), "", "")
	loadavg, _ := os.ReadFile("/proc/loadavg") // read once: the row and the warning below
	load := strings.Fields(string(loadavg))
	if len(load) >= 3 {
		row("load average (1 5 15 min)", strings.Join(load[:3], " "), "", "")
	}
	if gzSize >= 0 {
		row("dp-agent.gz size", fmt.Sprintf("%.2f MiB", float64(gzSize)/1024/1024), "<= 4.90 MiB", verdict(float64(gzSize) <= targetGzBytes))
	}
	fmt.Println("latency is measured from each request's scheduled send time (open loop), so queueing counts")
	if len(load) > 0 {
		if l, err := strconv.ParseFloat(load[0], 64); err == nil && l > float64(runtime.NumCPU()) {
			fmt.Printf("WARNING: load average %.1f exceeds %d CPUs: other work competes with the agent and the load generator; latency numbers are pessimistic\n", l, runtime.NumCPU())
		}
	}
	return pass, nil
}

func listeningAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "listening" {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return m["address"].(string), nil
		}
	}
	return "", errors.New("agent exited before listening")
}

func waitReady(c *http.Client, base string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(base + "/v1/node")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"state":"healthy"`) && !strings.Contains(string(b), `"identity":null`) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("agent did not report identity and a healthy Couchbase within 10 s")
}

type result struct {
	sent, errors int
	elapsed      time.Duration
	latencies    []time.Duration // from the scheduled send time
	service      []time.Duration // from the actual send time
}

// load sends GET url at a fixed rate (open loop) from a pool of workers.
func load(c *http.Client, url string, rate int, duration time.Duration, workers int) result {
	n := int(duration.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	jobs := make(chan time.Time, n)
	lat := make([]time.Duration, n)
	svc := make([]time.Duration, n)
	var idx, errs atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	for range workers {
		wg.Go(func() {
			for scheduled := range jobs {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				sent := time.Now()
				resp, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					errs.Add(1)
				}
				i := idx.Add(1) - 1
				lat[i], svc[i] = time.Since(scheduled), time.Since(sent)
			}
		})
	}
	start := time.Now()
	for i := range n {
		next := start.Add(time.Duration(i) * interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		jobs <- next
	}
	close(jobs)
	wg.Wait()
	return result{sent: n, errors: int(errs.Load()), elapsed: time.Since(start), latencies: lat, service: svc}
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func rssKiB(pid int) (int, error) { return statusKiB(pid, "VmRSS:") }

func statusKiB(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", field, pid)
}

func mib(kib int) string { return fmt.Sprintf("%.2f MiB", float64(kib)/1024) }
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000)
}
