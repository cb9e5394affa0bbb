package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/storetest"
)

// The top-level tests run in parallel: PostgreSQL's mostly wait on the server (creating
// and dropping databases) while SQLite's keep the CPU busy.

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, harness(backends[0]))
}

func TestPostgres(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	storetest.Run(t, harness(backends[1]))
}

// TestSQLiteConcurrentWriters checks the SQLite set-up (single writer connection,
// immediate transactions, busy timeout): many goroutines writing and reading at once
// never see "database is locked", whether they share one Store or two Stores share
// the file.
func TestSQLiteConcurrentWriters(t *testing.T) {
	t.Parallel()
	const goroutines, writes = 16, 50
	cases := []struct {
		name  string
		nodes func(t *testing.T) []store.Store
	}{
		{"one store", func(t *testing.T) []store.Store { return []store.Store{openMigrated(t, backends[0])} }},
		{"two stores on one file", func(t *testing.T) []store.Store {
			path := freshSQLite(t)
			a := openSQLite(t, path)
			mustMigrate(t, a)
			return []store.Store{a, openSQLite(t, path)}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			nodes := c.nodes(t)
			now := time.Now()
			if err := nodes[0].InTx(ctx, func(tx store.Tx) error {
				return tx.CreateTenant(ctx, &store.Tenant{ID: "acme", DisplayName: "Acme", CreatedAt: now})
			}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*writes)
			for g := range goroutines {
				node := nodes[g%len(nodes)]
				wg.Go(func() {
					for i := range writes {
						id := fmt.Sprintf("g%02d-%03d", g, i)
						err := node.InTx(ctx, func(tx store.Tx) error {
							if err := tx.CreateUser(ctx, &store.User{ID: id, TenantID: "acme", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}); err != nil {
								return err
							}
							return tx.AppendAudit(ctx, &store.AuditEvent{TenantID: "acme", ID: id, Type: "user.created", OccurredAt: now, TargetID: id})
						})
						if err != nil {
							errs <- fmt.Errorf("write %s: %w", id, err)
							continue
						}
						// Read it back on the reader pool: committed means visible.
						err = node.View(ctx, func(tx store.Tx) error {
							_, err := tx.GetUser(ctx, "acme", id)
							return err
						})
						if err != nil {
							errs <- fmt.Errorf("read %s: %w", id, err)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			err := nodes[len(nodes)-1].View(ctx, func(tx store.Tx) error {
				users, err := tx.ListUsers(ctx, "acme", store.UserQuery{})
				if err != nil {
					return err
				}
				events, err := tx.QueryAudit(ctx, store.AuditQuery{TenantID: "acme"})
				if err != nil {
					return err
				}
				if len(users) != goroutines*writes || len(events) != goroutines*writes {
					t.Errorf("after %d writes: %d users and %d audit events", goroutines*writes, len(users), len(events))
				}
				for i, e := range events {
					if e.Seq != int64(i+1) {
						t.Fatalf("audit event %d has seq %d: the chain has a gap", i, e.Seq)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMigrate checks what `serve` relies on to refuse a stale schema and what
// `migrate` relies on to be safe to run again.
func TestMigrate(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := t.Context()
			db := be.open(t, be.fresh(t))

			err := db.CheckSchema(ctx)
			if !errors.Is(err, store.ErrSchemaBehind) {
				t.Fatalf("CheckSchema on an empty database = %v, want ErrSchemaBehind", err)
			}
			current, target, err := db.SchemaState(ctx)
			if err != nil || current != 0 || target < 1 {
				t.Fatalf("SchemaState on an empty database = %d, %d, %v; want 0, ≥1, nil", current, target, err)
			}

			applied, err := db.Migrate(ctx)
			if err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if len(applied) == 0 || applied[len(applied)-1].Version != target {
				t.Errorf("Migrate applied %+v, want versions up to %d", applied, target)
			}
			if err := db.CheckSchema(ctx); err != nil {
				t.Errorf("CheckSchema after Migrate: %v", err)
			}

			again, err := db.Migrate(ctx)
			if err != nil || len(again) != 0 {
				t.Errorf("second Migrate = %+v, %v; want nothing applied", again, err)
			}
			if current, _, err := db.SchemaState(ctx); err != nil || current != target {
				t.Errorf("SchemaState after Migrate = %d, %v; want %d", current, err, target)
			}
			list, err := db.Migrations(ctx)
			if err != nil {
				t.Fatalf("Migrations: %v", err)
			}
			for _, m := range list {
				if !m.Applied {
					t.Errorf("migration %d (%s) not applied", m.Version, m.Name)
				}
			}
		})
	}
}

// TestMigrateTogether starts two nodes on one empty database at the same moment; both
// must come up on the current schema.
func TestMigrateTogether(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			addr := be.fresh(t)
			nodes := []*sqlstore.DB{be.open(t, addr), be.open(t, addr)}
			start := make(chan struct{})
			errs := make(chan error, len(nodes))
			for _, db := range nodes {
				go func() {
					<-start
					_, err := db.Migrate(context.Background())
					errs <- err
				}()
			}
			close(start)
			for range nodes {
				if err := <-errs; err != nil {
					t.Errorf("Migrate: %v", err)
				}
			}
			for _, db := range nodes {
				if err := db.CheckSchema(t.Context()); err != nil {
					t.Errorf("CheckSchema: %v", err)
				}
			}
		})
	}
}
