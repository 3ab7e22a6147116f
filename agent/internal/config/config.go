// Package config resolves the agent's settings from defaults, an optional
// KEY=VALUE file, DP_AGENT_* environment variables and command-line flags, in
// that order of increasing precedence.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultFile is read when present; it uses the same KEY=VALUE syntax as a
// systemd EnvironmentFile, so the unit can load it too.
const DefaultFile = "/etc/dp-agent/config"

// Config is the resolved configuration.
type Config struct {
	ListenAddress            string
	Port                     int
	IMDSEndpoint             string
	CouchbaseURL             string
	CouchbaseCredentialsFile string
	CouchbaseInstallPath     string
	PollInterval             time.Duration
	HTTPTimeout              time.Duration
	LogLevel                 slog.Level
	// File is the configuration file that was read, or "" when none was.
	File string
}

// Addr is the host:port the status API listens on.
func (c Config) Addr() string {
	return net.JoinHostPort(c.ListenAddress, strconv.Itoa(c.Port))
}

type setting struct {
	flag, env, def, usage string
}

// settings is the single table of every option: flag name, environment
// variable (also the key in the file), default and meaning.
var settings = []setting{
	{"listen-address", "DP_AGENT_LISTEN_ADDRESS", "127.0.0.1", "IP address the status API listens on (loopback by default)"},
	{"port", "DP_AGENT_PORT", "9190", "TCP port of the status API (0 picks a free port)"},
	{"imds-endpoint", "DP_AGENT_IMDS_ENDPOINT", "http://169.254.169.254", "base URL of the instance metadata service"},
	{"couchbase-url", "DP_AGENT_COUCHBASE_URL", "http://127.0.0.1:8091", "base URL of the local Couchbase Server REST API"},
	{"couchbase-credentials-file", "DP_AGENT_COUCHBASE_CREDENTIALS_FILE", "", "file holding 'user:password' for /pools/default (default: $CREDENTIALS_DIRECTORY/couchbase when present)"},
	{"couchbase-install-path", "DP_AGENT_COUCHBASE_INSTALL_PATH", "/opt/couchbase/bin/couchbase-server", "file whose presence means Couchbase Server is installed"},
	{"poll-interval", "DP_AGENT_POLL_INTERVAL", "5s", "how often Couchbase Server is checked"},
	{"http-timeout", "DP_AGENT_HTTP_TIMEOUT", "2s", "timeout of each request to IMDS or Couchbase Server"},
	{"log-level", "DP_AGENT_LOG_LEVEL", "info", "debug, info, warn or error"},
}

const configEnv = "DP_AGENT_CONFIG"

// Load resolves the configuration. getenv and readFile are injected for tests
// (os.Getenv and os.ReadFile in production). The file named by --config or
// DP_AGENT_CONFIG must exist; the default file is optional, and skipped with
// a note in Config.File == "" when missing or unreadable (the systemd unit
// also loads it as an EnvironmentFile, as root).
func Load(args []string, getenv func(string) string, readFile func(string) ([]byte, error), output io.Writer) (Config, error) {
	fset := flag.NewFlagSet("dp-agent", flag.ContinueOnError)
	fset.SetOutput(output)
	flagVals := map[string]*string{}
	for _, s := range settings {
		flagVals[s.flag] = fset.String(s.flag, s.def, s.usage+" [$"+s.env+"]")
	}
	configPath := fset.String("config", "", "KEY=VALUE configuration file (default "+DefaultFile+" when present) [$"+configEnv+"]")
	if err := fset.Parse(args); err != nil {
		return Config{}, err
	}
	if fset.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fset.Arg(0))
	}
	setFlags := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { setFlags[f.Name] = true })

	vals := map[string]string{}
	for _, s := range settings {
		vals[s.env] = s.def
	}

	path, required := *configPath, true
	if !setFlags["config"] {
		path = getenv(configEnv)
		if path == "" {
			path, required = DefaultFile, false
		}
	}
	var cfg Config
	if path != "" {
		data, err := readFile(path)
		switch {
		case err == nil:
			fileVals, err := ParseFile(data)
			if err != nil {
				return Config{}, fmt.Errorf("config file %s: %w", path, err)
			}
			for k, v := range fileVals {
				vals[k] = v
			}
			cfg.File = path
		case !required && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)):
		default:
			return Config{}, fmt.Errorf("config file: %w", err)
		}
	}
	for _, s := range settings {
		if v, ok := lookup(getenv, s.env); ok {
			vals[s.env] = v
		}
		if setFlags[s.flag] {
			vals[s.env] = *flagVals[s.flag]
		}
	}
	if vals["DP_AGENT_COUCHBASE_CREDENTIALS_FILE"] == "" {
		if dir := getenv("CREDENTIALS_DIRECTORY"); dir != "" {
			candidate := filepath.Join(dir, "couchbase")
			if _, err := readFile(candidate); err == nil {
				vals["DP_AGENT_COUCHBASE_CREDENTIALS_FILE"] = candidate
			}
		}
	}
	if err := cfg.apply(vals); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func (c *Config) apply(v map[string]string) error {
	var errs []error
	c.ListenAddress = v["DP_AGENT_LISTEN_ADDRESS"]
	if net.ParseIP(c.ListenAddress) == nil && c.ListenAddress != "localhost" {
		errs = append(errs, fmt.Errorf("DP_AGENT_LISTEN_ADDRESS/--listen-address: %q is not an IP address", c.ListenAddress))
	}
	port, err := strconv.Atoi(v["DP_AGENT_PORT"])
	if err != nil || port < 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("DP_AGENT_PORT/--port: %q is not a port number (0-65535)", v["DP_AGENT_PORT"]))
	}
	c.Port = port
	for _, u := range []struct {
		key string
		dst *string
	}{{"DP_AGENT_IMDS_ENDPOINT", &c.IMDSEndpoint}, {"DP_AGENT_COUCHBASE_URL", &c.CouchbaseURL}} {
		parsed, err := url.Parse(v[u.key])
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", u.key, v[u.key]))
		}
		*u.dst = strings.TrimRight(v[u.key], "/")
	}
	c.CouchbaseCredentialsFile = v["DP_AGENT_COUCHBASE_CREDENTIALS_FILE"]
	c.CouchbaseInstallPath = v["DP_AGENT_COUCHBASE_INSTALL_PATH"]
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{"DP_AGENT_POLL_INTERVAL", &c.PollInterval}, {"DP_AGENT_HTTP_TIMEOUT", &c.HTTPTimeout}} {
		parsed, err := time.ParseDuration(v[d.key])
		if err != nil || parsed <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a positive duration (e.g. 5s)", d.key, v[d.key]))
		}
		*d.dst = parsed
	}
	if err := c.LogLevel.UnmarshalText([]byte(v["DP_AGENT_LOG_LEVEL"])); err != nil {
		errs = append(errs, fmt.Errorf("DP_AGENT_LOG_LEVEL: %q is not one of debug, info, warn, error", v["DP_AGENT_LOG_LEVEL"]))
	}
	return errors.Join(errs...)
}

// ParseFile parses KEY=VALUE lines (systemd EnvironmentFile syntax subset):
// blank lines and lines starting with # or ; are ignored, values may be
// wrapped in single or double quotes, and every key must be a known
// DP_AGENT_* setting so that typos fail loudly.
func ParseFile(data []byte) (map[string]string, error) {
	known := map[string]bool{}
	for _, s := range settings {
		known[s.env] = true
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		key = strings.TrimSpace(key)
		if !known[key] {
			return nil, fmt.Errorf("line %d: unknown key %q", n, key)
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		out[key] = val
	}
	return out, sc.Err()
}
