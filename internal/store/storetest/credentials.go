package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func newCredential(tenant, user, id, credID string, created time.Time) *store.Credential {
	return &store.Credential{ID: id, TenantID: tenant, UserID: user, Kind: store.CredPasskey,
		CredentialID: credID, PublicKey: "pQECAyYgASFYIA", SignCount: 0, AAGUID: "ea9b8d664d011d213ce4b6b48cb575d4",
		Transports: []string{"internal", "hybrid"}, BackupEligible: true, UserVerified: true,
		AttestationType: "none", Name: "Laptop", CreatedAt: created, CreatedIP: "203.0.113.7"}
}

func microCred(c store.Credential) store.Credential {
	c.CreatedAt, c.LastUsedAt = store.Micro(c.CreatedAt), store.Micro(c.LastUsedAt)
	return c
}

func testCredentials(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")
	mustCreateUser(t, s, "acme", "ann")
	mustCreateUser(t, s, "acme", "bob")
	mustCreateUser(t, s, "globex", "gus")

	// Created newest first, to show that the list is ordered by creation, not insertion.
	phone := newCredential("acme", "ann", "c2", "Y3JlZC0y", t0.Add(time.Hour))
	laptop := newCredential("acme", "ann", "c1", "Y3JlZC0x", t0)
	mustTx(t, s, func(tx store.Tx) error {
		if err := tx.CreateCredential(ctx, phone); err != nil {
			return err
		}
		return tx.CreateCredential(ctx, laptop)
	})

	t.Run("create", func(t *testing.T) {
		cases := []struct {
			name string
			c    *store.Credential
			want error
		}{
			{"same credential id, another user", newCredential("acme", "bob", "c3", "Y3JlZC0x", t0), store.ErrConflict},
			{"same internal id", newCredential("acme", "bob", "c1", "Y3JlZC0z", t0), store.ErrConflict},
			{"same credential id in another tenant", newCredential("globex", "gus", "c4", "Y3JlZC0x", t0), nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantErr(t, "CreateCredential", txErr(t, s, func(tx store.Tx) error { return tx.CreateCredential(ctx, c.c) }), c.want)
			})
		}
	})

	t.Run("get", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetCredentialByCredID(ctx, "acme", "Y3JlZC0x")
			if err != nil {
				return err
			}
			wantEqual(t, "GetCredentialByCredID", *got, microCred(*laptop))
			got, err = tx.GetCredential(ctx, "acme", "c2")
			if err != nil {
				return err
			}
			wantEqual(t, "GetCredential", *got, microCred(*phone))
			_, err = tx.GetCredential(ctx, "globex", "c1")
			wantErr(t, "GetCredential(other tenant)", err, store.ErrNotFound)
			_, err = tx.GetCredentialByCredID(ctx, "acme", "unknown")
			wantErr(t, "GetCredentialByCredID(unknown)", err, store.ErrNotFound)
			return nil
		})
	})

	t.Run("list is the user's, oldest first", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListCredentials(ctx, "acme", "ann")
			if err != nil {
				return err
			}
			wantEqual(t, "ListCredentials(ann)", ids(got, func(c store.Credential) string { return c.ID }), []string{"c1", "c2"})
			return nil
		})
	})

	t.Run("record use and rename", func(t *testing.T) {
		used := *laptop
		used.SignCount, used.BackedUp, used.LastUsedAt, used.LastUsedIP = 7, true, t0.Add(2*time.Hour), "198.51.100.9"
		used.Name = "ignored by UpdateCredentialUse"
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateCredentialUse(ctx, &used) })
		renamed := used
		renamed.Name, renamed.Provisional = "Work laptop", true
		mustTx(t, s, func(tx store.Tx) error { return tx.UpdateCredential(ctx, &renamed) })
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetCredential(ctx, "acme", "c1")
			if err != nil {
				return err
			}
			want := microCred(used)
			want.Name, want.Provisional = "Work laptop", true
			wantEqual(t, "credential after use and rename", *got, want)
			return nil
		})
		missing := newCredential("acme", "ann", "missing", "bWlzc2luZw", t0)
		wantErr(t, "UpdateCredentialUse(missing)", txErr(t, s, func(tx store.Tx) error { return tx.UpdateCredentialUse(ctx, missing) }), store.ErrNotFound)
		wantErr(t, "UpdateCredential(missing)", txErr(t, s, func(tx store.Tx) error { return tx.UpdateCredential(ctx, missing) }), store.ErrNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteCredential(ctx, "acme", "c2") })
		wantErr(t, "DeleteCredential(again)", txErr(t, s, func(tx store.Tx) error { return tx.DeleteCredential(ctx, "acme", "c2") }), store.ErrNotFound)
		wantErr(t, "DeleteCredential(other tenant)", txErr(t, s, func(tx store.Tx) error { return tx.DeleteCredential(ctx, "globex", "c1") }), store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListCredentials(ctx, "acme", "ann")
			if err == nil {
				wantEqual(t, "ListCredentials after delete", ids(got, func(c store.Credential) string { return c.ID }), []string{"c1"})
			}
			return err
		})
	})
}
