package sqlstore_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Each benchmark runs once per backend, as sub-benchmarks "sqlite" and "postgres" (the
// latter only when GATEHOUSE_TEST_POSTGRES_URL is set), on a fresh database holding one
// tenant and one user. Every operation is a whole transaction, as a request makes it.
//
//	go test -run '^$' -bench . -benchtime 2s ./internal/store/sqlstore/

func benchStores(b *testing.B, fn func(b *testing.B, s store.Store)) {
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			s := openMigrated(b, be)
			ctx := b.Context()
			now := time.Now()
			err := s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.CreateTenant(ctx, &store.Tenant{ID: "acme", DisplayName: "Acme", CreatedAt: now}); err != nil {
					return err
				}
				return tx.CreateUser(ctx, &store.User{ID: "ann", TenantID: "acme", Status: store.UserActive, CreatedAt: now, UpdatedAt: now})
			})
			if err != nil {
				b.Fatal(err)
			}
			fn(b, s)
		})
	}
}

func benchSession(i int, now time.Time) *store.Session {
	id := fmt.Sprintf("s%09d", i)
	return &store.Session{ID: id, TokenHash: "h" + id, TenantID: "acme", UserID: "ann",
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(12 * time.Hour),
		AuthTime: now, AMR: []string{"hwk", "user"}, ACR: "urn:gatehouse:acr:phr", Flow: "normal",
		IP: "203.0.113.7", Network: "203.0.113.0/24", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"}
}

// seedSessions creates n sessions in one transaction and returns their token hashes.
func seedSessions(b *testing.B, s store.Store, n int) []string {
	b.Helper()
	ctx := b.Context()
	now := time.Now()
	hashes := make([]string, n)
	err := s.InTx(ctx, func(tx store.Tx) error {
		for i := range n {
			se := benchSession(i, now)
			hashes[i] = se.TokenHash
			if err := tx.CreateSession(ctx, se); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return hashes
}

func BenchmarkSessionCreate(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		now := time.Now()
		i := 0
		for b.Loop() {
			i++
			se := benchSession(i, now)
			if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, se) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSessionLookup is the cost every authenticated request pays: find the
// session by its cookie's hash in a read-only transaction.
func BenchmarkSessionLookup(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		hashes := seedSessions(b, s, 1000)
		i := 0
		for b.Loop() {
			i++
			h := hashes[i%len(hashes)]
			err := s.View(ctx, func(tx store.Tx) error {
				_, err := tx.GetSessionByTokenHash(ctx, h)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSessionLookupParallel is BenchmarkSessionLookup from many goroutines at
// once; run it with -cpu 1,2,4 to see how reads scale.
func BenchmarkSessionLookupParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		hashes := seedSessions(b, s, 1000)
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(7919)) // spread goroutines over the table
			for pb.Next() {
				i++
				h := hashes[i%len(hashes)]
				err := s.View(ctx, func(tx store.Tx) error {
					_, err := tx.GetSessionByTokenHash(ctx, h)
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkArtifactRedeem times the single conditional UPDATE that redeems a one-time
// code. Artifacts are put in batches with the timer stopped, so only redemption counts.
func BenchmarkArtifactRedeem(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		now := time.Now()
		const batch = 5000
		var ready []string
		made := 0
		for b.Loop() {
			if len(ready) == 0 {
				b.StopTimer()
				ready = make([]string, batch)
				err := s.InTx(ctx, func(tx store.Tx) error {
					for i := range ready {
						made++
						ready[i] = fmt.Sprintf("a%09d", made)
						a := &store.Artifact{Hash: ready[i], Kind: "email_code", TenantID: "acme", Subject: "ann",
							Data: []byte(`{"attempts":0}`), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
						if err := tx.PutArtifact(ctx, a); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			h := ready[len(ready)-1]
			ready = ready[:len(ready)-1]
			err := s.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.RedeemArtifact(ctx, "email_code", h, now)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuditAppend appends to one tenant's chain, the row every audited change
// of that tenant serializes on.
func BenchmarkAuditAppend(b *testing.B) {
	benchStores(b, func(b *testing.B, s store.Store) {
		ctx := b.Context()
		now := time.Now()
		i := 0
		for b.Loop() {
			i++
			e := &store.AuditEvent{TenantID: "acme", ID: fmt.Sprintf("e%09d", i), Type: "session.created",
				OccurredAt: now, ActorType: "user", ActorID: "ann", TargetType: "session", TargetID: "s1",
				IP: "203.0.113.7", Result: "success", Severity: "info", Details: []byte(`{"method":"passkey"}`)}
			if err := s.InTx(ctx, func(tx store.Tx) error { return tx.AppendAudit(ctx, e) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
