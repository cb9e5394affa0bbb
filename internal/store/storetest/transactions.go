package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testTransactions(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateUser(t, s, "acme", "ann")

	// writeAll makes one change of every kind, as a real request would in one transaction.
	writeAll := func(tx store.Tx) error {
		if err := tx.CreateTenant(ctx, &store.Tenant{ID: "ghost", DisplayName: "Ghost", CreatedAt: t0}); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, newEvent("ghost", "ghost-created", "tenant.created", t0)); err != nil {
			return err
		}
		if err := tx.Enqueue(ctx, newMessage("ghost-mail", "ghost-mail", t0)); err != nil {
			return err
		}
		if err := tx.PutArtifact(ctx, newArtifact("ghost-code", "email_code", t0.Add(time.Hour))); err != nil {
			return err
		}
		_, err := tx.Hit(ctx, "ghost", t0, t0.Add(time.Minute))
		return err
	}
	// checkNothingWritten fails the test if any change of writeAll is visible.
	checkNothingWritten := func(t *testing.T) {
		t.Helper()
		mustView(t, s, func(tx store.Tx) error {
			_, err := tx.GetTenant(ctx, "ghost")
			wantErr(t, "GetTenant(ghost)", err, store.ErrNotFound)
			if seq, _, err := tx.AuditHead(ctx, "ghost"); err != nil || seq != 0 {
				t.Errorf("AuditHead(ghost) = %d, %v; want 0, nil", seq, err)
			}
			if evs, err := tx.QueryAudit(ctx, store.AuditQuery{TenantID: "ghost"}); err != nil || len(evs) != 0 {
				t.Errorf("QueryAudit(ghost) = %d events, %v; want none", len(evs), err)
			}
			_, err = tx.GetOutbox(ctx, "ghost-mail")
			wantErr(t, "GetOutbox(ghost-mail)", err, store.ErrNotFound)
			_, err = tx.PeekArtifact(ctx, "email_code", "ghost-code")
			wantErr(t, "PeekArtifact(ghost-code)", err, store.ErrNotFound)
			if n, err := tx.CounterValue(ctx, "ghost", t0); err != nil || n != 0 {
				t.Errorf("CounterValue(ghost) = %d, %v; want 0, nil", n, err)
			}
			return nil
		})
	}

	t.Run("an error rolls everything back", func(t *testing.T) {
		errBoom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := writeAll(tx); err != nil {
				return fmt.Errorf("writing: %w", err)
			}
			return errBoom
		})
		wantErr(t, "InTx", err, errBoom)
		checkNothingWritten(t)
	})

	t.Run("a panic rolls back and propagates", func(t *testing.T) {
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Errorf("recovered %v, want the panic value boom", p)
				}
			}()
			s.InTx(ctx, func(tx store.Tx) error {
				if err := writeAll(tx); err != nil {
					t.Errorf("writing: %v", err)
				}
				panic("boom")
			})
		}()
		checkNothingWritten(t)
		// The connection the panicking transaction held must be usable again.
		mustTx(t, s, func(tx store.Tx) error { _, err := tx.GetTenant(ctx, "acme"); return err })
	})

	t.Run("view cannot write", func(t *testing.T) {
		writes := []struct {
			name string
			fn   func(tx store.Tx) error
		}{
			{"tenant", func(tx store.Tx) error {
				return tx.CreateTenant(ctx, &store.Tenant{ID: "ghost", DisplayName: "Ghost", CreatedAt: t0})
			}},
			{"audit", func(tx store.Tx) error {
				return tx.AppendAudit(ctx, newEvent("ghost", "ghost-created", "tenant.created", t0))
			}},
			{"outbox", func(tx store.Tx) error { return tx.Enqueue(ctx, newMessage("ghost-mail", "ghost-mail", t0)) }},
			{"counter", func(tx store.Tx) error { _, err := tx.Hit(ctx, "ghost", t0, t0.Add(time.Minute)); return err }},
		}
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				if err := s.View(ctx, w.fn); err == nil {
					t.Errorf("a %s write inside View succeeded", w.name)
				}
				// Even a caller that swallows the write error must not get the write committed.
				s.View(ctx, func(tx store.Tx) error { w.fn(tx); return nil })
			})
		}
		checkNothingWritten(t)
	})

	t.Run("view sees committed writes", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			return tx.CreateTenant(ctx, &store.Tenant{ID: "seen", DisplayName: "Seen", CreatedAt: t0})
		})
		mustView(t, s, func(tx store.Tx) error { _, err := tx.GetTenant(ctx, "seen"); return err })
	})

	// A conflict is an answer, not a failure: the caller may carry on in the same
	// transaction (say, skip a duplicate during an import), on every backend.
	t.Run("a conflict leaves the transaction usable", func(t *testing.T) {
		conflicts := []struct {
			name string
			fn   func(tx store.Tx) error
		}{
			{"tenant", func(tx store.Tx) error { return tx.CreateTenant(ctx, &store.Tenant{ID: "acme", CreatedAt: t0}) }},
			{"user", func(tx store.Tx) error {
				return tx.CreateUser(ctx, &store.User{ID: "ann", TenantID: "acme", Status: store.UserActive, CreatedAt: t0, UpdatedAt: t0})
			}},
			{"identifier", func(tx store.Tx) error {
				return tx.AddIdentifier(ctx, &store.Identifier{ID: "i-dup", TenantID: "acme", UserID: "ann", Kind: store.IdentEmail, Value: "ann@example.com", CreatedAt: t0})
			}},
			{"session", func(tx store.Tx) error { return tx.CreateSession(ctx, newSession("acme", "ann", "s-dup")) }},
			{"artifact", func(tx store.Tx) error {
				return tx.PutArtifact(ctx, newArtifact("a-dup", "email_code", t0.Add(time.Hour)))
			}},
		}
		mustTx(t, s, func(tx store.Tx) error {
			if err := tx.AddIdentifier(ctx, &store.Identifier{ID: "i-1", TenantID: "acme", UserID: "ann", Kind: store.IdentEmail, Value: "ann@example.com", CreatedAt: t0}); err != nil {
				return err
			}
			if err := tx.CreateSession(ctx, newSession("acme", "ann", "s-dup")); err != nil {
				return err
			}
			return tx.PutArtifact(ctx, newArtifact("a-dup", "email_code", t0.Add(time.Hour)))
		})
		for _, c := range conflicts {
			t.Run(c.name, func(t *testing.T) {
				tenant := "after-" + c.name
				mustTx(t, s, func(tx store.Tx) error {
					wantErr(t, "duplicate "+c.name, c.fn(tx), store.ErrConflict)
					return tx.CreateTenant(ctx, &store.Tenant{ID: tenant, DisplayName: "After", CreatedAt: t0})
				})
				mustView(t, s, func(tx store.Tx) error { _, err := tx.GetTenant(ctx, tenant); return err })
			})
		}
	})
}
