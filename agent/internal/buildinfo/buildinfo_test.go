package buildinfo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/couchbase-images/dp-agent/internal/buildinfo"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		provider string
		wantErr  bool
	}{
		{"aws", false},
		{"", true},
		{"AWS", true},
		{"gcp", true},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			err := buildinfo.Info{Provider: tt.provider}.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate(%q) = %v, wantErr %v", tt.provider, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, buildinfo.ErrUnknownProvider) {
				t.Fatalf("error %v is not ErrUnknownProvider", err)
			}
			if err != nil && !strings.Contains(err.Error(), "main.Provider") {
				t.Fatalf("error %q does not say how to fix it", err)
			}
		})
	}
}

func TestString(t *testing.T) {
	got := buildinfo.Info{Provider: "aws", Version: "0.2.0", Commit: "abc"}.String()
	want := "dp-agent version=0.2.0 commit=abc provider=aws"
	if got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
