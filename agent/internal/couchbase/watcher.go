package couchbase

import (
	"context"
	"encoding/json"
	"errors"
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
	var pools Pools
	o.PoolsStatus, o.PoolsErr = w.getJSON(ctx, "/pools", nil, &pools)
	if o.PoolsErr != nil && errors.Is(o.PoolsErr, errDecode) {
		o.PoolsErr = nil
	} else if o.PoolsErr == nil && o.PoolsStatus == http.StatusOK {
		o.Pools = &pools
	}
	if o.PoolsErr != nil || o.Pools == nil || len(o.Pools.Pools) == 0 || w.CredentialsFile == "" {
		return o
	}
	o.HaveCredentials = true
	creds, err := readCredentials(w.CredentialsFile)
	if err != nil {
		o.DefaultErr = err
		return o
	}
	var def PoolsDefault
	o.DefaultStatus, o.DefaultErr = w.getJSON(ctx, "/pools/default", creds, &def)
	if o.DefaultErr != nil && errors.Is(o.DefaultErr, errDecode) {
		o.DefaultErr = nil
	} else if o.DefaultErr == nil && o.DefaultStatus == http.StatusOK {
		o.Default = &def
	}
	return o
}

var errDecode = errors.New("decode")

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

// getJSON returns the status and decodes a 200 body into dst; a body that
// does not decode gives errDecode (the status is still returned).
func (w *Watcher) getJSON(ctx context.Context, path string, creds *credentials, dst any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.BaseURL+path, nil)
	if err != nil {
		return 0, err
	}
	if creds != nil {
		req.SetBasicAuth(creds.user, creds.password)
	}
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(dst); err != nil {
		return resp.StatusCode, errDecode
	}
	return resp.StatusCode, nil
}
