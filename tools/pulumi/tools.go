//go:build tools

// Package tools pins the Pulumi CLI so scripts/bootstrap.sh can build it
// from the Go module proxy with reproducible dependencies (go.sum).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
