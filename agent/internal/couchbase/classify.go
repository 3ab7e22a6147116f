// Package couchbase watches the local Couchbase Server through its REST API
// and classifies the node into one of a few states.
package couchbase

import (
	"fmt"
)

// State is the node's Couchbase Server state as the agent sees it.
type State string

// The states, from "nothing there" to "serving".
const (
	// NotInstalled: no Couchbase Server binary and nothing answers on the port.
	NotInstalled State = "not-installed"
	// Starting: installed but the REST API does not answer yet (and never
	// has since the agent started), or the node reports warmup.
	Starting State = "starting"
	// Uninitialized: the REST API answers, but no cluster (pool) exists yet.
	Uninitialized State = "uninitialized"
	// Healthy: a cluster exists; with credentials, this node is also
	// reported healthy and active by /pools/default.
	Healthy State = "healthy"
	// Unhealthy: anything else (API gone after it answered, errors,
	// rejected credentials, node unhealthy or not an active member).
	Unhealthy State = "unhealthy"
)

// States lists every state, for metrics.
var States = []State{NotInstalled, Starting, Uninitialized, Healthy, Unhealthy}

// Pools is the part of GET /pools the agent reads.
type Pools struct {
	Pools                 []struct{ Name string } `json:"pools"`
	ImplementationVersion string                  `json:"implementationVersion"`
}

// PoolsDefault is the part of GET /pools/default the agent reads.
type PoolsDefault struct {
	Nodes []struct {
		ThisNode          bool   `json:"thisNode"`
		Status            string `json:"status"`
		ClusterMembership string `json:"clusterMembership"`
		Hostname          string `json:"hostname"`
	} `json:"nodes"`
}

// Observation is the raw result of one check; Classify turns it into a State.
type Observation struct {
	// Installed reports whether the Couchbase Server binary exists.
	Installed bool
	// EverReachable is true once /pools answered since the agent started.
	EverReachable bool

	// PoolsErr is a transport error of GET /pools (refused, timeout...).
	PoolsErr error
	// PoolsStatus is the HTTP status of GET /pools when PoolsErr is nil.
	PoolsStatus int
	// Pools is the decoded body, nil when it could not be decoded.
	Pools *Pools

	// HaveCredentials is true when /pools/default was asked (credentials configured).
	HaveCredentials bool
	DefaultErr      error
	DefaultStatus   int
	Default         *PoolsDefault
}

// Classify maps an observation to a state and, unless healthy or plainly
// uninitialized, a human-readable reason. It is pure: table-tested.
func Classify(o Observation) (State, string) {
	if o.PoolsErr != nil {
		switch {
		case !o.Installed && !o.EverReachable:
			return NotInstalled, fmt.Sprintf("couchbase-server not installed; GET /pools: %v", o.PoolsErr)
		case !o.EverReachable:
			return Starting, fmt.Sprintf("GET /pools: %v", o.PoolsErr)
		default:
			return Unhealthy, fmt.Sprintf("GET /pools: %v", o.PoolsErr)
		}
	}
	if o.PoolsStatus != 200 {
		if o.PoolsStatus >= 500 && !o.EverReachable {
			return Starting, fmt.Sprintf("GET /pools: status %d", o.PoolsStatus)
		}
		return Unhealthy, fmt.Sprintf("GET /pools: status %d", o.PoolsStatus)
	}
	if o.Pools == nil {
		return Unhealthy, "GET /pools: response is not the expected JSON"
	}
	if len(o.Pools.Pools) == 0 {
		return Uninitialized, ""
	}
	if !o.HaveCredentials {
		return Healthy, ""
	}
	switch {
	case o.DefaultErr != nil:
		return Unhealthy, fmt.Sprintf("GET /pools/default: %v", o.DefaultErr)
	case o.DefaultStatus == 401 || o.DefaultStatus == 403:
		return Unhealthy, fmt.Sprintf("GET /pools/default: credentials rejected (status %d)", o.DefaultStatus)
	case o.DefaultStatus != 200:
		return Unhealthy, fmt.Sprintf("GET /pools/default: status %d", o.DefaultStatus)
	case o.Default == nil:
		return Unhealthy, "GET /pools/default: response is not the expected JSON"
	}
	for _, n := range o.Default.Nodes {
		if !n.ThisNode {
			continue
		}
		switch {
		case n.Status == "warmup":
			return Starting, "node is warming up"
		case n.Status != "healthy":
			return Unhealthy, fmt.Sprintf("node status %q", n.Status)
		case n.ClusterMembership != "active":
			return Unhealthy, fmt.Sprintf("node cluster membership %q", n.ClusterMembership)
		default:
			return Healthy, ""
		}
	}
	return Unhealthy, "GET /pools/default: this node is not in the cluster's node list"
}
