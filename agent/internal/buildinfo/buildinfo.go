// Package buildinfo holds the agent's build-time identity (provider, version,
// commit), set by the linker in package main and validated at start.
package buildinfo

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrUnknownProvider is returned when the binary was built for a provider this
// agent does not support, or with no provider at all.
var ErrUnknownProvider = errors.New("unknown provider")

// Providers lists the supported values of main.Provider.
var Providers = []string{"aws"}

// Info is the build-time identity of the binary.
type Info struct {
	Provider string `json:"provider"`
	Version  string `json:"version"`
	Commit   string `json:"commit"`
}

// Validate reports ErrUnknownProvider, with a hint on how to build correctly,
// when Provider is empty or not one of Providers.
func (i Info) Validate() error {
	for _, p := range Providers {
		if i.Provider == p {
			return nil
		}
	}
	known := append([]string(nil), Providers...)
	sort.Strings(known)
	got := i.Provider
	if got == "" {
		got = "(empty)"
	}
	return fmt.Errorf("%w %s: this binary must be built with -ldflags \"-X main.Provider=<%s>\" (use agent/build.sh --provider)",
		ErrUnknownProvider, got, strings.Join(known, "|"))
}

// String formats the identity for `dp-agent version`.
func (i Info) String() string {
	return fmt.Sprintf("dp-agent version=%s commit=%s provider=%s", orUnknown(i.Version), orUnknown(i.Commit), orUnknown(i.Provider))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
