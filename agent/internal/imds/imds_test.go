package imds_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/couchbase-images/dp-agent/internal/fakes"
	"github.com/couchbase-images/dp-agent/internal/imds"
)

func fastClient(url string) *imds.AWS {
	c := imds.NewAWS(url, time.Second)
	c.Backoff = imds.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond}
	return c
}

func TestBackoffDelay(t *testing.T) {
	b := imds.Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for attempt, w := range want {
		if got := b.Delay(attempt); got != w {
			t.Errorf("Delay(%d) = %v, want %v", attempt, got, w)
		}
	}
}

func TestIdentity(t *testing.T) {
	cases := []struct {
		name      string
		failFirst int32
		wantErr   bool
	}{
		{"first try", 0, false},
		{"transient errors are retried", 2, false},
		{"too many errors", 100, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakes.IMDS{Identity: fakes.SampleIdentity, FailFirst: tc.failFirst}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			id, err := fastClient(srv.URL).Identity(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && id != fakes.SampleIdentity {
				t.Fatalf("identity = %+v", id)
			}
		})
	}
}

func TestTokenRefreshedAfter401(t *testing.T) {
	fake := &fakes.IMDS{Identity: fakes.SampleIdentity}
	var rejected atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reject the first metadata GET as if the token had expired.
		if strings.HasPrefix(r.URL.Path, "/latest/meta-data/") && rejected.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	id, err := fastClient(srv.URL).Identity(context.Background())
	if err != nil || id.InstanceID != fakes.SampleIdentity.InstanceID {
		t.Fatalf("id=%+v err=%v", id, err)
	}
}

func TestNotFoundIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method == http.MethodPut {
			_, _ = w.Write([]byte("t"))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	_, err := fastClient(srv.URL).Identity(context.Background())
	if err == nil || !strings.Contains(err.Error(), "instance-id") || calls.Load() != 2 {
		t.Fatalf("err=%v calls=%d", err, calls.Load())
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	start := time.Now()
	_, err := fastClient(url).Identity(context.Background())
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err=%v after %v", err, time.Since(start))
	}
}

func TestTracker(t *testing.T) {
	var calls int
	fake := &imds.Fake{IdentityFunc: func(context.Context) (imds.Identity, error) {
		calls++
		if calls < 3 {
			return imds.Identity{}, errors.New("no route to host")
		}
		return fakes.SampleIdentity, nil
	}}
	var errs int
	tr := &imds.Tracker{Client: fake, Backoff: imds.Backoff{Initial: time.Millisecond, Max: time.Millisecond},
		OnError: func(error, int, time.Duration) { errs++ }}
	tr.Run(context.Background())
	s := tr.Status()
	if s.Identity == nil || *s.Identity != fakes.SampleIdentity || s.Attempts != 3 || s.LastError != "" || errs != 2 {
		t.Fatalf("status=%+v errs=%d", s, errs)
	}
}

func TestTrackerStopsOnCancel(t *testing.T) {
	fake := &imds.Fake{IdentityFunc: func(context.Context) (imds.Identity, error) { return imds.Identity{}, errors.New("down") }}
	tr := &imds.Tracker{Client: fake, Backoff: imds.Backoff{Initial: time.Hour, Max: time.Hour}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("tracker did not stop")
	}
	if s := tr.Status(); s.Identity != nil || s.LastError != "down" {
		t.Fatalf("status=%+v", s)
	}
}
