package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "pgseal_test_total", Help: "x"})
	reg.MustRegister(c)
	c.Inc()
	var upstreamDown bool
	s := New(reg, zap.NewNop(), Check{Name: "upstream", Func: func(context.Context) error {
		if upstreamDown {
			return errors.New("dial tcp: connection refused")
		}
		return nil
	}})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name     string
		down     bool
		path     string
		wantCode int
		want     string
	}{
		{"metrics are served in Prometheus text format", false, "/metrics", 200, "pgseal_test_total 1"},
		{"healthz answers while the process is up", true, "/healthz", 200, `"ok"`},
		{"readyz is ready when every check passes", false, "/readyz", 200, `"ready":true`},
		{"readyz is 503 and says which check failed", true, "/readyz", 503, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstreamDown = tt.down
			code, body := get(tt.path)
			if code != tt.wantCode || !strings.Contains(body, tt.want) {
				t.Fatalf("GET %s = %d %q, want %d containing %q", tt.path, code, body, tt.wantCode, tt.want)
			}
		})
	}
}
