package couchbase_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/couchbase-images/dp-agent/internal/couchbase"
)

func pools(names ...string) *couchbase.Pools {
	p := &couchbase.Pools{}
	for _, n := range names {
		p.Pools = append(p.Pools, struct{ Name string }{n})
	}
	return p
}

func nodes(status, membership string, thisNode bool) *couchbase.PoolsDefault {
	d := &couchbase.PoolsDefault{}
	d.Nodes = append(d.Nodes, struct {
		ThisNode          bool   `json:"thisNode"`
		Status            string `json:"status"`
		ClusterMembership string `json:"clusterMembership"`
		Hostname          string `json:"hostname"`
	}{thisNode, status, membership, "10.0.0.1:8091"})
	return d
}

func TestClassify(t *testing.T) {
	refused := errors.New("connect: connection refused")
	cases := []struct {
		name       string
		o          couchbase.Observation
		want       couchbase.State
		wantReason string
	}{
		{"no binary, no answer", couchbase.Observation{PoolsErr: refused}, couchbase.NotInstalled, "not installed"},
		{"binary, no answer yet", couchbase.Observation{Installed: true, PoolsErr: refused}, couchbase.Starting, "connection refused"},
		{"answered before, gone now", couchbase.Observation{Installed: true, EverReachable: true, PoolsErr: refused}, couchbase.Unhealthy, "connection refused"},
		{"binary removed after it answered", couchbase.Observation{EverReachable: true, PoolsErr: refused}, couchbase.Unhealthy, "connection refused"},
		{"5xx while starting", couchbase.Observation{Installed: true, PoolsStatus: 500}, couchbase.Starting, "status 500"},
		{"5xx after it answered", couchbase.Observation{Installed: true, EverReachable: true, PoolsStatus: 503}, couchbase.Unhealthy, "status 503"},
		{"4xx on /pools", couchbase.Observation{Installed: true, PoolsStatus: 404}, couchbase.Unhealthy, "status 404"},
		{"not JSON", couchbase.Observation{Installed: true, PoolsStatus: 200}, couchbase.Unhealthy, "expected JSON"},
		{"no pools", couchbase.Observation{Installed: true, PoolsStatus: 200, Pools: pools()}, couchbase.Uninitialized, ""},
		{"pool, no credentials", couchbase.Observation{Installed: true, PoolsStatus: 200, Pools: pools("default")}, couchbase.Healthy, ""},
		{"pool, healthy active node", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 200, Default: nodes("healthy", "active", true)}, couchbase.Healthy, ""},
		{"warmup", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 200, Default: nodes("warmup", "active", true)}, couchbase.Starting, "warming up"},
		{"node unhealthy", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 200, Default: nodes("unhealthy", "active", true)}, couchbase.Unhealthy, `"unhealthy"`},
		{"failed over", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 200, Default: nodes("healthy", "inactiveFailed", true)}, couchbase.Unhealthy, "inactiveFailed"},
		{"this node missing", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 200, Default: nodes("healthy", "active", false)}, couchbase.Unhealthy, "not in the cluster"},
		{"bad credentials", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 401}, couchbase.Unhealthy, "credentials rejected"},
		{"credentials file unreadable", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultErr: errors.New("credentials: permission denied")}, couchbase.Unhealthy, "permission denied"},
		{"pools/default 500", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 500}, couchbase.Unhealthy, "status 500"},
		{"pools/default not JSON", couchbase.Observation{PoolsStatus: 200, Pools: pools("default"), HaveCredentials: true, DefaultStatus: 200}, couchbase.Unhealthy, "expected JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := couchbase.Classify(tc.o)
			if got != tc.want {
				t.Fatalf("state = %s, want %s (reason %q)", got, tc.want, reason)
			}
			if tc.wantReason == "" && reason != "" || !strings.Contains(reason, tc.wantReason) {
				t.Fatalf("reason = %q, want it to contain %q", reason, tc.wantReason)
			}
		})
	}
}
