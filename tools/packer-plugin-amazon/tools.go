//go:build tools

// Package tools pins the Packer amazon plugin so scripts/bootstrap.sh can
// build it from the Go module proxy with reproducible dependencies (go.sum).
package tools

import _ "github.com/hashicorp/packer-plugin-amazon"
