package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(NewHandler("8.0.0", "enterprise"))
	defer srv.Close()
	cases := []struct {
		name, method, path string
		auth               bool
		status             int
		body               string
	}{
		{"pools: an uninitialised node", http.MethodGet, "/pools", false, 200, `"pools":[]`},
		{"pools: says it is a stand-in", http.MethodGet, "/pools", false, 200, `"implementationVersion":"8.0.0-standin-enterprise"`},
		{"pools/default without credentials", http.MethodGet, "/pools/default", false, 401, ""},
		{"pools/default with credentials: no cluster", http.MethodGet, "/pools/default", true, 404, `"unknown pool"`},
		{"other paths", http.MethodGet, "/nodes/self", false, 404, "Not found."},
		{"no writes", http.MethodPost, "/pools", false, 405, "method not allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth {
				req.SetBasicAuth("Administrator", "password")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
}

// The fields the agent decodes (type Pools of agent/internal/couchbase) have the types it expects.
func TestPoolsDecodesAsTheAgentReadsIt(t *testing.T) {
	rec := httptest.NewRecorder()
	NewHandler("8.0.0", "community").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/pools", nil))
	var got struct {
		Pools                 []struct{ Name string } `json:"pools"`
		ImplementationVersion string                  `json:"implementationVersion"`
		IsEnterprise          bool                    `json:"isEnterprise"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Pools == nil || len(got.Pools) != 0 || got.ImplementationVersion != "8.0.0-standin-community" || got.IsEnterprise {
		t.Fatalf("got %+v", got)
	}
}
