// Package fakes holds httptest-ready fakes of the services the agent talks
// to (IMDSv2 and the Couchbase Server REST API), shared by the unit tests,
// the binary test and the benchmark. It is never linked into dp-agent.
package fakes

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/couchbase-images/dp-agent/internal/imds"
)

// IMDS fakes IMDSv2: PUT /latest/api/token with a TTL header returns a
// token; metadata GETs without that token get 401, like IMDS with
// http_tokens=required.
type IMDS struct {
	Identity imds.Identity
	// FailFirst makes the first N requests answer 500, to exercise retries.
	FailFirst int32

	requests atomic.Int32
}

const fakeToken = "fake-imds-token"

// ServeHTTP implements http.Handler.
func (f *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.requests.Add(1)
	if n <= f.FailFirst {
		http.Error(w, "transient", http.StatusInternalServerError)
		return
	}
	if r.URL.Path == "/latest/api/token" {
		if r.Method != http.MethodPut || r.Header.Get(imds.HeaderTokenTTL) == "" {
			http.Error(w, "bad token request", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(fakeToken))
		return
	}
	if r.Header.Get(imds.HeaderToken) != fakeToken {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	values := map[string]string{
		imds.PathInstanceID:       f.Identity.InstanceID,
		imds.PathRegion:           f.Identity.Region,
		imds.PathAvailabilityZone: f.Identity.AvailabilityZone,
		imds.PathInstanceType:     f.Identity.InstanceType,
		imds.PathLocalIPv4:        f.Identity.PrivateIPv4,
	}
	v, ok := values[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write([]byte(v))
}

// SampleIdentity is a realistic identity for tests and the benchmark.
var SampleIdentity = imds.Identity{
	InstanceID:       "i-0123456789abcdef0",
	Region:           "us-east-1",
	AvailabilityZone: "us-east-1a",
	InstanceType:     "m7g.xlarge",
	PrivateIPv4:      "10.0.1.23",
}
