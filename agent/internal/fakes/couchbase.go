package fakes

import (
	"fmt"
	"net/http"
	"sync"
)

// CouchbaseMode selects what the fake Couchbase REST API answers.
type CouchbaseMode string

// Modes of the fake.
const (
	CBUninitialized CouchbaseMode = "uninitialized" // /pools has no pools
	CBHealthy       CouchbaseMode = "healthy"       // pool exists, node healthy+active
	CBWarmup        CouchbaseMode = "warmup"        // node status warmup
	CBNodeUnhealthy CouchbaseMode = "node-unhealthy"
	CBServerError   CouchbaseMode = "server-error" // every request 500
	CBGarbage       CouchbaseMode = "garbage"      // /pools is not JSON
)

// Fake Couchbase credentials accepted by /pools/default.
const (
	CBUser     = "Administrator"
	CBPassword = "password"
)

// Couchbase fakes the parts of the Couchbase Server REST API the agent uses.
type Couchbase struct {
	mu   sync.Mutex
	mode CouchbaseMode
}

// NewCouchbase returns a fake in the given mode.
func NewCouchbase(mode CouchbaseMode) *Couchbase { return &Couchbase{mode: mode} }

// SetMode changes the answers from the next request on.
func (c *Couchbase) SetMode(m CouchbaseMode) {
	c.mu.Lock()
	c.mode = m
	c.mu.Unlock()
}

// ServeHTTP implements http.Handler.
func (c *Couchbase) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	mode := c.mode
	c.mu.Unlock()
	if mode == CBServerError {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/pools":
		switch mode {
		case CBGarbage:
			_, _ = w.Write([]byte("<html>not json"))
		case CBUninitialized:
			_, _ = w.Write([]byte(`{"isAdminCreds":false,"isEnterprise":true,"pools":[],"implementationVersion":"7.6.2-3721-enterprise"}`))
		default:
			_, _ = w.Write([]byte(`{"isAdminCreds":false,"isEnterprise":true,"pools":[{"name":"default","uri":"/pools/default"}],"implementationVersion":"7.6.2-3721-enterprise"}`))
		}
	case "/pools/default":
		if u, p, ok := r.BasicAuth(); !ok || u != CBUser || p != CBPassword {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if mode == CBUninitialized {
			http.Error(w, `"unknown pool"`, http.StatusNotFound)
			return
		}
		status := "healthy"
		switch mode {
		case CBWarmup:
			status = "warmup"
		case CBNodeUnhealthy:
			status = "unhealthy"
		}
		fmt.Fprintf(w, `{"name":"default","nodes":[{"hostname":"10.0.1.99:8091","thisNode":false,"status":"healthy","clusterMembership":"active"},{"hostname":"10.0.1.23:8091","thisNode":true,"status":%q,"clusterMembership":"active"}]}`, status)
	default:
		http.NotFound(w, r)
	}
}
