package couchbase

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Status is the watcher's current view, served by the status API.
type Status struct {
	State     State     `json:"state"`
	Since     time.Time `json:"since"`
	LastError string    `json:"lastError,omitempty"`
	// LastErrorAt is when LastError was last seen; the error is kept after
	// recovery so that /v1/node explains the last outage.
	LastErrorAt *time.Time `json:"lastErrorAt,omitempty"`
	LastCheck   time.Time  `json:"lastCheck"`
	Version     string     `json:"version,omitempty"`
	Checks      uint64     `json:"checks"`
	CheckErrors uint64     `json:"checkErrors"`
}

// Watcher polls Couchbase Server and keeps a Status.
type Watcher struct {
	BaseURL         string // e.g. http://127.0.0.1:8091
	CredentialsFile string // "user:password"; empty = /pools only
	InstallPath     string // presence = installed
	Interval        time.Duration
	HTTP            *http.Client
	Now             func() time.Time
	// OnChange is called (outside the lock) after every state change.
	OnChange func(old, new Status)

	mu            sync.RWMutex
	status        Status
	everReachable bool
}

// NewWatcher returns a watcher in state Starting until its first check,
// which Run performs at once.
func NewWatcher(baseURL, credentialsFile, installPath string, interval, timeout time.Duration) *Watcher {
	return &Watcher{
		status:          Status{State: Starting, Since: time.Now()},
		BaseURL:         strings.TrimRight(baseURL, "/"),
		CredentialsFile: credentialsFile,
		InstallPath:     installPath,
		Interval:        interval,
		HTTP:            &http.Client{Timeout: timeout},
		Now:             time.Now,
	}
}

// Status returns a copy of the current status.
func (w *Watcher) Status() Status {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.status
}

// Run checks once at once, then every Interval until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		w.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check performs one observation and updates the status.
func (w *Watcher) Check(ctx context.Context) {
	o := w.observe(ctx)
	if ctx.Err() != nil {
		return // shutting down: do not record a spurious failure
	}
	state, reason := Classify(o)
	now := w.Now()

	w.mu.Lock()
	if o.PoolsErr == nil {
		w.everReachable = true
	}
	old := w.status
	s := &w.status
	s.Checks++
	s.LastCheck = now
	if o.Pools != nil {
		s.Version = o.Pools.ImplementationVersion
	}
	if reason != "" && state != NotInstalled {
		s.CheckErrors++
	}
	if reason != "" {
		s.LastError = reason
		at := now
		s.LastErrorAt = &at
	}
	changed := s.State != state
	if changed {
		s.State, s.Since = state, now
	}
	cur := *s
	w.mu.Unlock()

	if changed && w.OnChange != nil {
		w.OnChange(old, cur)
	}
}

func (w *Watcher) observe(ctx context.Context) Observation {
	w.mu.RLock()
	o := Observation{EverReachable: w.everReachable}
	w.mu.RUnlock()
	if w.InstallPath != "" {
		_, err := os.Stat(w.InstallPath)
		o.Installed = err == nil
	}
	o.PoolsStatus, o.Pools, o.PoolsErr = getJSON[Pools](ctx, w, "/pools", nil)
	if o.PoolsErr != nil || o.Pools == nil || len(o.Pools.Pools) == 0 || w.CredentialsFile == "" {
		return o
	}
	o.HaveCredentials = true
	creds, err := readCredentials(w.CredentialsFile)
	if err != nil {
		o.DefaultErr = err
		return o
	}
	o.DefaultStatus, o.Default, o.DefaultErr = getJSON[PoolsDefault](ctx, w, "/pools/default", creds)
	return o
}

type credentials struct{ user, password string }

func readCredentials(path string) (*credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	user, pass, ok := strings.Cut(strings.TrimSpace(line), ":")
	if !ok || user == "" {
		return nil, fmt.Errorf("credentials file %s: want one line user:password", path)
	}
	return &credentials{user, pass}, nil
}

// getJSON returns the status and, for a 200 body that decodes as T, the
// value; any other body gives nil without an error, for Classify to report.
func getJSON[T any](ctx context.Context, w *Watcher, path string, creds *credentials) (int, *T, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.BaseURL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if creds != nil {
		req.SetBasicAuth(creds.user, creds.password)
	}
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, nil, nil
	}
	v := new(T)
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(v); err != nil {
		return resp.StatusCode, nil, nil
	}
	return resp.StatusCode, v, nil
}
