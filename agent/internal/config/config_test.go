package config_test

import (
	"errors"
	"flag"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/couchbase-images/dp-agent/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func files(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if v, ok := m[p]; ok {
			return []byte(v), nil
		}
		return nil, fs.ErrNotExist
	}
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := config.Load(nil, env(nil), files(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr() != "127.0.0.1:9190" || cfg.IMDSEndpoint != "http://169.254.169.254" ||
		cfg.CouchbaseURL != "http://127.0.0.1:8091" || cfg.PollInterval != 5*time.Second || cfg.File != "" {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
}

func TestLoadPrecedence(t *testing.T) {
	fileText := "# comment\nDP_AGENT_PORT=1000\nDP_AGENT_POLL_INTERVAL='7s'\nDP_AGENT_LOG_LEVEL=\"debug\"\n"
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		wantPort int
	}{
		{"file", nil, nil, 1000},
		{"env over file", nil, map[string]string{"DP_AGENT_PORT": "2000"}, 2000},
		{"flag over env", []string{"--port", "3000"}, map[string]string{"DP_AGENT_PORT": "2000"}, 3000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load(tc.args, env(tc.env), files(map[string]string{config.DefaultFile: fileText}), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Port != tc.wantPort || cfg.PollInterval != 7*time.Second || cfg.LogLevel.String() != "DEBUG" || cfg.File != config.DefaultFile {
				t.Fatalf("got %+v", cfg)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		files map[string]string
		want  string
	}{
		{"bad port", []string{"--port=70000"}, nil, nil, "DP_AGENT_PORT"},
		{"bad url", nil, map[string]string{"DP_AGENT_IMDS_ENDPOINT": "169.254.169.254"}, nil, "DP_AGENT_IMDS_ENDPOINT"},
		{"bad duration", nil, map[string]string{"DP_AGENT_POLL_INTERVAL": "0s"}, nil, "DP_AGENT_POLL_INTERVAL"},
		{"bad level", []string{"--log-level", "loud"}, nil, nil, "DP_AGENT_LOG_LEVEL"},
		{"bad listen", []string{"--listen-address", "example.com"}, nil, nil, "DP_AGENT_LISTEN_ADDRESS"},
		{"unknown file key", nil, nil, map[string]string{config.DefaultFile: "DP_AGENT_PROT=1\n"}, "unknown key"},
		{"malformed file", nil, nil, map[string]string{config.DefaultFile: "just words\n"}, "KEY=VALUE"},
		{"explicit file missing", []string{"--config", "/nope"}, nil, nil, "config file"},
		{"env file missing", nil, map[string]string{"DP_AGENT_CONFIG": "/nope"}, nil, "config file"},
		{"stray argument", []string{"serve"}, nil, nil, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(tc.args, env(tc.env), files(tc.files), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestDefaultFileUnreadableIsSkipped(t *testing.T) {
	read := func(string) ([]byte, error) { return nil, fs.ErrPermission }
	cfg, err := config.Load(nil, env(nil), read, io.Discard)
	if err != nil || cfg.File != "" {
		t.Fatalf("cfg=%+v err=%v", cfg, err)
	}
}

func TestCredentialsDirectory(t *testing.T) {
	cfg, err := config.Load(nil, env(map[string]string{"CREDENTIALS_DIRECTORY": "/run/credentials/dp-agent.service"}),
		files(map[string]string{"/run/credentials/dp-agent.service/couchbase": "u:p"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CouchbaseCredentialsFile != "/run/credentials/dp-agent.service/couchbase" {
		t.Fatalf("credentials file = %q", cfg.CouchbaseCredentialsFile)
	}
}

func TestHelp(t *testing.T) {
	var b strings.Builder
	_, err := config.Load([]string{"-h"}, env(nil), files(nil), &b)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(b.String(), "DP_AGENT_PORT") {
		t.Fatalf("err=%v help=%q", err, b.String())
	}
}
