package couchbase_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/couchbase-images/dp-agent/internal/couchbase"
	"github.com/couchbase-images/dp-agent/internal/fakes"
)

func TestWatcherAgainstFake(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "creds")
	if err := os.WriteFile(creds, []byte(fakes.CBUser+":"+fakes.CBPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCreds := filepath.Join(dir, "bad")
	if err := os.WriteFile(badCreds, []byte("Administrator:wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(dir, "couchbase-server")
	if err := os.WriteFile(installed, nil, 0o755); err != nil {
		t.Fatal(err)
	}

	fake := fakes.NewCouchbase(fakes.CBUninitialized)
	srv := httptest.NewServer(fake)
	defer srv.Close()

	clock := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	w := couchbase.NewWatcher(srv.URL, creds, installed, time.Second, time.Second)
	w.Now = func() time.Time { return clock }
	var changes []couchbase.State
	w.OnChange = func(_, cur couchbase.Status) { changes = append(changes, cur.State) }

	steps := []struct {
		mode  fakes.CouchbaseMode
		creds string
		want  couchbase.State
	}{
		{fakes.CBUninitialized, creds, couchbase.Uninitialized},
		{fakes.CBWarmup, creds, couchbase.Starting},
		{fakes.CBHealthy, creds, couchbase.Healthy},
		{fakes.CBHealthy, creds, couchbase.Healthy},
		{fakes.CBHealthy, badCreds, couchbase.Unhealthy},
		{fakes.CBHealthy, "", couchbase.Healthy},
		{fakes.CBNodeUnhealthy, creds, couchbase.Unhealthy},
		{fakes.CBGarbage, creds, couchbase.Unhealthy},
		{fakes.CBServerError, creds, couchbase.Unhealthy},
		{fakes.CBHealthy, creds, couchbase.Healthy},
	}
	for i, st := range steps {
		clock = clock.Add(time.Minute)
		fake.SetMode(st.mode)
		w.CredentialsFile = st.creds
		w.Check(context.Background())
		s := w.Status()
		if s.State != st.want {
			t.Fatalf("step %d (%s): state %s, want %s (lastError %q)", i, st.mode, s.State, st.want, s.LastError)
		}
		if s.LastCheck != clock || s.Version != "7.6.2-3721-enterprise" && st.mode != fakes.CBGarbage && st.mode != fakes.CBServerError {
			t.Fatalf("step %d: status %+v", i, s)
		}
	}
	s := w.Status()
	if s.Since != clock || s.Checks != uint64(len(steps)) || s.LastError == "" || s.LastErrorAt == nil {
		t.Fatalf("final status %+v", s)
	}
	want := []couchbase.State{couchbase.Uninitialized, couchbase.Starting, couchbase.Healthy, couchbase.Unhealthy, couchbase.Healthy, couchbase.Unhealthy, couchbase.Healthy}
	if len(changes) != len(want) {
		t.Fatalf("changes = %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes = %v, want %v", changes, want)
		}
	}
}

func TestWatcherNotInstalledThenStarting(t *testing.T) {
	srv := httptest.NewServer(fakes.NewCouchbase(fakes.CBHealthy))
	url := srv.URL
	srv.Close() // nothing listens: connection refused
	dir := t.TempDir()
	marker := filepath.Join(dir, "couchbase-server")
	w := couchbase.NewWatcher(url, "", marker, time.Second, time.Second)
	w.Check(context.Background())
	if s := w.Status(); s.State != couchbase.NotInstalled || s.LastError == "" {
		t.Fatalf("status %+v", s)
	}
	if err := os.WriteFile(marker, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	w.Check(context.Background())
	if s := w.Status(); s.State != couchbase.Starting {
		t.Fatalf("status %+v", s)
	}
}

func TestWatcherRunStopsOnCancel(t *testing.T) {
	srv := httptest.NewServer(fakes.NewCouchbase(fakes.CBHealthy))
	defer srv.Close()
	w := couchbase.NewWatcher(srv.URL, "", "", 10*time.Millisecond, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	w.Run(ctx)
	if s := w.Status(); s.State != couchbase.Healthy || s.Checks < 2 {
		t.Fatalf("status %+v", s)
	}
}
