package device_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// benchCodes is how many pending device codes the benchmark polls in turn. Each is
// polled far less often than its one-second interval even at 20,000 polls a second,
// so every answer is authorization_pending, never slow_down.
const benchCodes = 40_000

// BenchmarkDevicePolling measures authorization_pending polls per second over HTTP
// from parallel clients, on SQLite and PostgreSQL: the load a crowd of devices
// waiting for their users puts on the token endpoint.
func BenchmarkDevicePolling(b *testing.B) {
	// Limits are policy, not capacity: the benchmark turns the per-IP limit off.
	noLimit := apptest.WithConfig(func(c *config.Config) { c.RateLimit = 0 })
	b.Run("sqlite", func(b *testing.B) { benchPolling(b, noLimit) })
	b.Run("postgres", func(b *testing.B) {
		benchPolling(b, noLimit, apptest.WithDatabase(apptest.FreshPostgres(b)))
	})
}

func benchPolling(b *testing.B, opts ...apptest.Option) {
	e := newEnv(b, envOpts{server: opts})
	codes := pendingCodes(b, e, benchCodes)
	tokenURL := e.issuer() + "/oauth2/token"
	hc := e.s.Client
	var next, wrong atomic.Int64
	b.SetParallelism(4) // clients per core: enough requests in flight to keep the server busy
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code := codes[int(next.Add(1))%len(codes)]
			got, err := pollOnce(hc, tokenURL, e.client.ID, code)
			if err != nil {
				b.Error(err)
				return
			}
			if got != "authorization_pending" {
				wrong.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := wrong.Load(); n > 0 {
		b.Fatalf("%d of %d polls were not authorization_pending", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "polls/s")
}

// pendingCodes stores n pending device requests of the env's client straight in the
// store (issuing them over HTTP is not what is measured) and returns their codes.
func pendingCodes(b *testing.B, e *env, n int) []string {
	codes := make([]string, n)
	now := time.Now()
	err := e.s.App.Store.InTx(b.Context(), func(tx store.Tx) error {
		for i := range codes {
			codes[i] = secret.Token(32)
			if err := tx.CreateDeviceRequest(b.Context(), &store.DeviceRequest{DeviceHash: secret.Hash(codes[i]),
				UserHash: secret.Hash("user-" + codes[i]), TenantID: tenantID, ClientID: e.client.ID, Scope: "openid",
				IP: "127.0.0.1", Network: "127.0.0.0/24", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
				Interval: time.Second, Status: store.DevicePending}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return codes
}

func pollOnce(hc *http.Client, tokenURL, clientID, code string) (string, error) {
	resp, err := hc.PostForm(tokenURL, url.Values{"grant_type": {client.GrantDeviceCode}, "device_code": {code},
		"client_id": {clientID}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return "", err
	}
	return body.Error, nil
}
