// Package imds reads the node's identity from the cloud provider's instance
// metadata service. For aws that is IMDSv2: a session token first, then each
// metadata path with the token, every request retried with backoff.
package imds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Identity is what the agent reports about the instance it runs on.
type Identity struct {
	InstanceID       string `json:"instanceId"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availabilityZone"`
	InstanceType     string `json:"instanceType"`
	PrivateIPv4      string `json:"privateIpv4"`
}

// Client fetches the instance identity. Implementations must honour ctx
// cancellation and may retry internally.
type Client interface {
	Identity(ctx context.Context) (Identity, error)
}

// Backoff is a capped exponential backoff without jitter (one agent per
// instance talks to its own metadata service, so there is no herd to spread).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Initial
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Metadata paths read for the identity (relative to /latest/meta-data/).
const (
	PathInstanceID       = "instance-id"
	PathRegion           = "placement/region"
	PathAvailabilityZone = "placement/availability-zone"
	PathInstanceType     = "instance-type"
	PathLocalIPv4        = "local-ipv4"
)

const (
	tokenPath      = "/latest/api/token"
	metadataPrefix = "/latest/meta-data/"
	// HeaderTokenTTL and HeaderToken are the IMDSv2 request headers.
	HeaderTokenTTL = "X-aws-ec2-metadata-token-ttl-seconds"
	HeaderToken    = "X-aws-ec2-metadata-token"
)

// errPermanent marks a response that retrying will not fix.
var errPermanent = errors.New("permanent")

// AWS is the IMDSv2 client.
type AWS struct {
	Endpoint string // e.g. http://169.254.169.254
	HTTP     *http.Client
	Attempts int // per request, >= 1
	Backoff  Backoff
	TokenTTL time.Duration

	mu    sync.Mutex
	token string
}

var _ Client = (*AWS)(nil)

// NewAWS returns an IMDSv2 client with sensible retry settings.
func NewAWS(endpoint string, timeout time.Duration) *AWS {
	return &AWS{
		Endpoint: strings.TrimRight(endpoint, "/"),
		HTTP:     &http.Client{Timeout: timeout},
		Attempts: 4,
		Backoff:  Backoff{Initial: 200 * time.Millisecond, Max: 2 * time.Second},
		TokenTTL: 6 * time.Hour,
	}
}

// Identity implements Client.
func (c *AWS) Identity(ctx context.Context) (Identity, error) {
	var id Identity
	for _, f := range []struct {
		path string
		dst  *string
	}{
		{PathInstanceID, &id.InstanceID},
		{PathRegion, &id.Region},
		{PathAvailabilityZone, &id.AvailabilityZone},
		{PathInstanceType, &id.InstanceType},
		{PathLocalIPv4, &id.PrivateIPv4},
	} {
		v, err := c.get(ctx, f.path)
		if err != nil {
			return Identity{}, fmt.Errorf("imds %s: %w", f.path, err)
		}
		*f.dst = v
	}
	return id, nil
}

func (c *AWS) get(ctx context.Context, path string) (string, error) {
	return c.retry(ctx, func() (string, error) {
		token, err := c.sessionToken(ctx)
		if err != nil {
			return "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint+metadataPrefix+path, nil)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errPermanent, err)
		}
		req.Header.Set(HeaderToken, token)
		body, status, err := c.do(req)
		if err != nil {
			return "", err
		}
		switch {
		case status == http.StatusOK:
			return strings.TrimSpace(body), nil
		case status == http.StatusUnauthorized:
			c.mu.Lock()
			c.token = "" // expired or rotated: fetch a new one on retry
			c.mu.Unlock()
			return "", fmt.Errorf("token rejected (401)")
		case status == http.StatusNotFound:
			return "", fmt.Errorf("%w: not found (404)", errPermanent)
		default:
			return "", fmt.Errorf("status %d", status)
		}
	})
}

func (c *AWS) sessionToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" {
		return c.token, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.Endpoint+tokenPath, nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set(HeaderTokenTTL, strconv.Itoa(int(c.TokenTTL.Seconds())))
	body, status, err := c.do(req)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if status != http.StatusOK || strings.TrimSpace(body) == "" {
		return "", fmt.Errorf("token: status %d", status)
	}
	c.token = strings.TrimSpace(body)
	return c.token, nil
}

func (c *AWS) do(req *http.Request) (string, int, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", 0, err
	}
	return string(b), resp.StatusCode, nil
}

func (c *AWS) retry(ctx context.Context, f func() (string, error)) (string, error) {
	var lastErr error
	for attempt := 0; attempt < max(c.Attempts, 1); attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.Backoff.Delay(attempt-1)); err != nil {
				return "", errors.Join(lastErr, err)
			}
		}
		v, err := f()
		if err == nil {
			return v, nil
		}
		lastErr = err
		if errors.Is(err, errPermanent) || ctx.Err() != nil {
			break
		}
	}
	return "", lastErr
}

// Fake is a Client for tests; IdentityFunc must be set.
type Fake struct {
	IdentityFunc func(ctx context.Context) (Identity, error)
}

var _ Client = (*Fake)(nil)

// Identity implements Client.
func (f *Fake) Identity(ctx context.Context) (Identity, error) {
	if f.IdentityFunc == nil {
		panic("imds.Fake: IdentityFunc not set")
	}
	return f.IdentityFunc(ctx)
}

// Status is the tracker's view for the status API.
type Status struct {
	Identity  *Identity `json:"identity,omitempty"`
	LastError string    `json:"lastError,omitempty"`
	Attempts  int       `json:"attempts"`
}

// Tracker resolves the identity in the background, retrying with backoff
// until it succeeds, so the status API is up even while IMDS is not.
type Tracker struct {
	Client  Client
	Backoff Backoff
	OnError func(err error, attempt int, next time.Duration)

	mu     sync.RWMutex
	status Status
}

// Run retries Client.Identity until it succeeds or ctx ends.
func (t *Tracker) Run(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		id, err := t.Client.Identity(ctx)
		t.mu.Lock()
		t.status.Attempts++
		if err == nil {
			t.status.Identity, t.status.LastError = &id, ""
			t.mu.Unlock()
			return
		}
		t.status.LastError = err.Error()
		t.mu.Unlock()
		next := t.Backoff.Delay(attempt)
		if t.OnError != nil && ctx.Err() == nil {
			t.OnError(err, attempt+1, next)
		}
		if sleep(ctx, next) != nil {
			return
		}
	}
}

// Status returns a copy of the current state.
func (t *Tracker) Status() Status {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.status
}
