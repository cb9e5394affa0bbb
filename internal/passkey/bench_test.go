package passkey_test

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// BenchmarkPasskeySignIn measures complete passkey sign-ins over HTTP: begin, a real
// ES256 assertion by the test authenticator, finish with verification, credential
// update, session and audit writes. It reports sign-ins per second and latency
// percentiles of one sign-in (both requests).
func BenchmarkPasskeySignIn(b *testing.B) {
	// Limits are policy, not capacity: the benchmark turns them off to find capacity.
	noLimit := apptest.WithConfig(func(c *config.Config) { c.RateLimit = 0 })
	b.Run("sqlite", func(b *testing.B) { benchSignIn(b, apptest.Start(b, noLimit)) })
	b.Run("postgres", func(b *testing.B) {
		benchSignIn(b, apptest.Start(b, noLimit, apptest.WithDatabase(apptest.FreshPostgres(b))))
	})
}

func benchSignIn(b *testing.B, s *apptest.Server) {
	const people = 32
	setPolicy(b, s, "default", func(p *tenant.Policy) { p.Throttles.CeremoniesPerMinute = 1_000_000 })
	var persons []*apptest.Person
	for i := 0; i < people; i++ {
		p := s.NewPerson("default")
		p.SignUp(b, "Bench")
		persons = append(persons, p)
	}
	var (
		next int64
		mu   sync.Mutex
		lat  []time.Duration
	)
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		p := persons[atomic.AddInt64(&next, 1)%people]
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			p.SignIn(b)
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "signins/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// benchParallelism is goroutines per GOMAXPROCS driving sign-ins.
var benchParallelism = 4
