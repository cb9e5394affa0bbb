package storetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func testTenants(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()

	// Created out of order to show that the list is ordered by id, not by insertion.
	for _, id := range []string{"globex", "acme"} {
		mustCreateTenant(t, s, id)
	}

	t.Run("get", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetTenant(ctx, "acme")
			if err != nil {
				return err
			}
			wantEqual(t, "GetTenant", *got, store.Tenant{ID: "acme", DisplayName: "Tenant acme", CreatedAt: store.Micro(t0)})
			return nil
		})
	})

	t.Run("list is ordered by id", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListTenants(ctx)
			if err != nil {
				return err
			}
			wantEqual(t, "ListTenants", ids(got, func(tn store.Tenant) string { return tn.ID }), []string{"acme", "globex"})
			return nil
		})
	})

	t.Run("duplicate id conflicts", func(t *testing.T) {
		err := txErr(t, s, func(tx store.Tx) error {
			return tx.CreateTenant(ctx, &store.Tenant{ID: "acme", DisplayName: "Another", CreatedAt: t0})
		})
		wantErr(t, "CreateTenant(duplicate)", err, store.ErrConflict)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetTenant(ctx, "acme")
			if err == nil && got.DisplayName != "Tenant acme" {
				t.Errorf("duplicate create overwrote the tenant: display name %q", got.DisplayName)
			}
			return err
		})
	})

	t.Run("missing is not found", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			_, err := tx.GetTenant(ctx, "initech")
			wantErr(t, "GetTenant(missing)", err, store.ErrNotFound)
			return nil
		})
	})
}

func testPolicies(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")

	t.Run("no policy yet is not found", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			_, err := tx.CurrentPolicy(ctx, "acme")
			wantErr(t, "CurrentPolicy(none)", err, store.ErrNotFound)
			return nil
		})
	})

	docs := []string{`{"signin":["passkey"]}`, `{"signin":["passkey","email_code"]}`, `{"signin":["passkey"],"device":"require"}`}
	t.Run("versions count up from 1", func(t *testing.T) {
		for i, doc := range docs {
			p := &store.Policy{TenantID: "acme", Document: []byte(doc), CreatedAt: t0, CreatedBy: "op-1"}
			mustTx(t, s, func(tx store.Tx) error { return tx.PutPolicy(ctx, p) })
			if p.Version != i+1 {
				t.Errorf("PutPolicy #%d assigned version %d, want %d", i+1, p.Version, i+1)
			}
		}
	})

	t.Run("current is the newest", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.CurrentPolicy(ctx, "acme")
			if err != nil {
				return err
			}
			want := store.Policy{TenantID: "acme", Version: 3, Document: []byte(docs[2]), CreatedAt: store.Micro(t0), CreatedBy: "op-1"}
			wantEqual(t, "CurrentPolicy", *got, want)
			return nil
		})
	})

	t.Run("list is oldest first", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListPolicies(ctx, "acme")
			if err != nil {
				return err
			}
			if len(got) != len(docs) {
				t.Fatalf("ListPolicies returned %d versions, want %d", len(got), len(docs))
			}
			for i, p := range got {
				if p.Version != i+1 || string(p.Document) != docs[i] {
					t.Errorf("ListPolicies[%d] = version %d %s, want version %d %s", i, p.Version, p.Document, i+1, docs[i])
				}
			}
			return nil
		})
	})

	t.Run("versions are per tenant", func(t *testing.T) {
		p := &store.Policy{TenantID: "globex", Document: []byte(`{}`), CreatedAt: t0, CreatedBy: "op-2"}
		mustTx(t, s, func(tx store.Tx) error { return tx.PutPolicy(ctx, p) })
		if p.Version != 1 {
			t.Errorf("first globex policy got version %d, want 1", p.Version)
		}
	})
}
