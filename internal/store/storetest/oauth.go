package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testOAuth checks the records behind the OAuth provider: signing keys and clients.
func testOAuth(t *testing.T, h Harness) {
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, h) })
	t.Run("SigningKeyRotationRace", func(t *testing.T) { testSigningKeyRotationRace(t, h) })
	t.Run("Clients", func(t *testing.T) { testClients(t, h) })
}

// newSigningKey returns a key of tenant whose byte fields hold every byte value, so a
// backend that mangles binary data is caught.
func newSigningKey(tenant, kid, alg string, seq int64, activates time.Time) *store.SigningKey {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	return &store.SigningKey{
		TenantID: tenant, KID: kid, Alg: alg, Seq: seq,
		PublicKey: append([]byte("pub:"+kid+":"), all...), SealedPrivate: append([]byte("sealed:"+kid+":"), all...),
		CreatedAt: t0, ActivatesAt: activates,
	}
}

func kids(ks []store.SigningKey) []string {
	return ids(ks, func(k store.SigningKey) string { return k.KID })
}

func testSigningKeys(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")
	mustTx(t, s, func(tx store.Tx) error {
		for _, k := range []*store.SigningKey{
			newSigningKey("acme", "rs-1", "RS256", 1, t0),
			newSigningKey("acme", "es-2", "ES256", 2, t0.Add(time.Hour)),
			newSigningKey("acme", "es-1", "ES256", 1, t0),
			newSigningKey("globex", "gx-1", "ES256", 1, t0),
		} {
			if err := tx.CreateSigningKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("list round-trips every field, by algorithm then sequence", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListSigningKeys(ctx, "acme")
			if err != nil {
				return err
			}
			wantEqual(t, "kids", kids(got), []string{"es-1", "es-2", "rs-1"})
			want := newSigningKey("acme", "es-2", "ES256", 2, t0.Add(time.Hour))
			want.CreatedAt, want.ActivatesAt = store.Micro(want.CreatedAt), store.Micro(want.ActivatesAt)
			if len(got) == 3 {
				wantEqual(t, "es-2", got[1], *want)
			}
			none, err := tx.ListSigningKeys(ctx, "nobody")
			if err != nil || len(none) != 0 {
				t.Errorf("ListSigningKeys(unknown tenant) = %v, %v; want nothing", kids(none), err)
			}
			return nil
		})
	})

	t.Run("kid and tenant-algorithm-sequence are unique", func(t *testing.T) {
		err := txErr(t, s, func(tx store.Tx) error {
			return tx.CreateSigningKey(ctx, newSigningKey("globex", "es-1", "RS256", 7, t0))
		})
		wantErr(t, "CreateSigningKey(taken kid)", err, store.ErrConflict)
		err = txErr(t, s, func(tx store.Tx) error {
			return tx.CreateSigningKey(ctx, newSigningKey("acme", "es-other", "ES256", 2, t0))
		})
		wantErr(t, "CreateSigningKey(taken sequence)", err, store.ErrConflict)
		// The same sequence number in another algorithm or tenant is a different slot.
		mustTx(t, s, func(tx store.Tx) error {
			return tx.CreateSigningKey(ctx, newSigningKey("globex", "gx-rs-1", "RS256", 1, t0))
		})
		// A conflict leaves the transaction usable, on every backend.
		mustTx(t, s, func(tx store.Tx) error {
			err := tx.CreateSigningKey(ctx, newSigningKey("acme", "es-dup", "ES256", 1, t0))
			wantErr(t, "CreateSigningKey(conflict inside a transaction)", err, store.ErrConflict)
			return tx.CreateSigningKey(ctx, newSigningKey("acme", "es-3", "ES256", 3, t0.Add(2*time.Hour)))
		})
	})

	t.Run("retirement happens once", func(t *testing.T) {
		retires, until := t0.Add(time.Hour), t0.Add(25*time.Hour)
		err := txErr(t, s, func(tx store.Tx) error { return tx.RetireSigningKey(ctx, "globex", "es-1", retires, until) })
		wantErr(t, "RetireSigningKey(other tenant)", err, store.ErrNotFound)
		err = txErr(t, s, func(tx store.Tx) error { return tx.RetireSigningKey(ctx, "acme", "nope", retires, until) })
		wantErr(t, "RetireSigningKey(unknown)", err, store.ErrNotFound)
		mustTx(t, s, func(tx store.Tx) error { return tx.RetireSigningKey(ctx, "acme", "es-1", retires, until) })
		err = txErr(t, s, func(tx store.Tx) error {
			return tx.RetireSigningKey(ctx, "acme", "es-1", retires.Add(time.Hour), until.Add(time.Hour))
		})
		wantErr(t, "RetireSigningKey(again)", err, store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListSigningKeys(ctx, "acme")
			if err != nil {
				return err
			}
			k := got[0]
			if k.KID != "es-1" || !k.RetiresAt.Equal(store.Micro(retires)) || !k.RetireUntil.Equal(store.Micro(until)) {
				t.Errorf("retired key = %s retires %v until %v; want es-1, %v, %v", k.KID, k.RetiresAt, k.RetireUntil, retires, until)
			}
			return nil
		})
	})

	t.Run("only keys out of the JWKS by the cutoff are deleted", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			return tx.RetireSigningKey(ctx, "acme", "rs-1", t0.Add(2*time.Hour), t0.Add(30*time.Hour))
		})
		var deleted []string
		// es-1 leaves the JWKS at t0+25h and rs-1 at t0+30h; es-2 and es-3 never retired.
		for _, c := range []struct {
			cutoff time.Time
			want   []string
		}{
			{t0.Add(25*time.Hour - time.Microsecond), nil},
			{t0.Add(25 * time.Hour), []string{"es-1"}},
			{t0.Add(1000 * time.Hour), []string{"rs-1"}},
		} {
			mustTx(t, s, func(tx store.Tx) error {
				var err error
				deleted, err = tx.DeleteExpiredSigningKeys(ctx, "acme", c.cutoff)
				return err
			})
			wantEqual(t, "deleted at "+c.cutoff.Sub(t0).String(), deleted, c.want)
		}
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListSigningKeys(ctx, "acme")
			wantEqual(t, "acme keys left", kids(got), []string{"es-2", "es-3"})
			other, err2 := tx.ListSigningKeys(ctx, "globex")
			wantEqual(t, "globex keys left", kids(other), []string{"gx-1", "gx-rs-1"})
			return errors.Join(err, err2)
		})
	})
}

// testSigningKeyRotationRace has two nodes rotate the same key at the same moment, as
// `gatehouse keys rotate` run twice would: the insert of the next sequence number and
// the one-time retirement make exactly one of them win.
func testSigningKeyRotationRace(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	mustCreateTenant(t, a, "acme")
	mustTx(t, a, func(tx store.Tx) error { return tx.CreateSigningKey(ctx, newSigningKey("acme", "k1", "ES256", 1, t0)) })
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	nodes := [2]store.Store{a, b}
	prev := "k1"
	for round := range rounds {
		seq := int64(round + 2)
		start := make(chan struct{})
		results := make(chan error, 2)
		for i, node := range nodes {
			kid := seqName("k", round) + []string{"a", "b"}[i]
			go func() {
				<-start
				results <- node.InTx(ctx, func(tx store.Tx) error {
					if err := tx.CreateSigningKey(ctx, newSigningKey("acme", kid, "ES256", seq, t0)); err != nil {
						return err
					}
					return tx.RetireSigningKey(ctx, "acme", prev, t0, t0.Add(time.Hour))
				})
			}()
		}
		close(start)
		wins := 0
		for range nodes {
			switch err := <-results; {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			default:
				t.Errorf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d rotations committed, want exactly 1", round, wins)
		}
		mustView(t, a, func(tx store.Tx) error {
			ks, err := tx.ListSigningKeys(ctx, "acme")
			if err != nil {
				return err
			}
			if int64(len(ks)) != seq {
				t.Fatalf("round %d: %d keys stored, want %d", round, len(ks), seq)
			}
			prev = ks[len(ks)-1].KID
			return nil
		})
	}
}

func newClient(tenant, id string, created time.Time) *store.Client {
	return &store.Client{
		ID: id, TenantID: tenant, Name: "Client " + id, Type: store.ClientConfidential,
		AuthMethod: "client_secret_basic", SecretHash: "hash-of-" + id,
		RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1/cb"},
		GrantTypes:   []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "email"},
		IDTokenAlg: "ES256", CreatedAt: created, UpdatedAt: created, SecretRotatedAt: created,
	}
}

func clientIDs(cs []store.Client) []string {
	return ids(cs, func(c store.Client) string { return c.ID })
}

func testClients(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")

	full := &store.Client{
		ID: "c-full", TenantID: "acme", Name: "Every field — ünïcode", Type: store.ClientConfidential,
		AuthMethod: "private_key_jwt", JWKS: []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}`),
		RedirectURIs: []string{"https://app.example.com/cb?x=1&y=2"}, PostLogoutRedirectURIs: []string{"https://app.example.com/bye"},
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"},
		Scopes:     []string{"openid", "profile", "api:read"}, FirstParty: true, RequirePAR: true, DPoPBound: true,
		IDTokenAlg: "RS256", VerificationURIComplete: true, DeviceProximity: "require",
		CreatedAt: t0, UpdatedAt: t0.Add(time.Minute),
	}
	mustTx(t, s, func(tx store.Tx) error {
		for _, c := range []*store.Client{
			full,
			newClient("acme", "c-b", t0.Add(2*time.Second)),
			newClient("acme", "c-a", t0.Add(2*time.Second)),
			newClient("acme", "c-old", t0.Add(-time.Hour)),
			newClient("globex", "g-1", t0),
		} {
			if err := tx.CreateClient(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})

	t.Run("get round-trips every field", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetClient(ctx, "acme", "c-full")
			if err != nil {
				return err
			}
			want := *full
			want.CreatedAt, want.UpdatedAt = store.Micro(want.CreatedAt), store.Micro(want.UpdatedAt)
			wantEqual(t, "GetClient", *got, want)
			// Empty lists and documents come back empty, not as one empty element.
			minimal, err := tx.GetClient(ctx, "acme", "c-b")
			if err != nil {
				return err
			}
			if minimal.JWKS != nil || minimal.PostLogoutRedirectURIs != nil || minimal.SecretHash != "hash-of-c-b" {
				t.Errorf("minimal client came back as %+v", minimal)
			}
			return nil
		})
	})

	t.Run("get is scoped to the tenant", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			_, err := tx.GetClient(ctx, "globex", "c-full")
			wantErr(t, "GetClient(other tenant)", err, store.ErrNotFound)
			_, err = tx.GetClient(ctx, "acme", "nope")
			wantErr(t, "GetClient(unknown)", err, store.ErrNotFound)
			return nil
		})
	})

	t.Run("ids are unique across tenants", func(t *testing.T) {
		err := txErr(t, s, func(tx store.Tx) error { return tx.CreateClient(ctx, newClient("globex", "c-full", t0)) })
		wantErr(t, "CreateClient(taken id)", err, store.ErrConflict)
		err = txErr(t, s, func(tx store.Tx) error { return tx.CreateClient(ctx, newClient("no-such-tenant", "c-x", t0)) })
		if err == nil {
			t.Error("CreateClient in an unknown tenant succeeded")
		}
	})

	t.Run("list is the tenant's, oldest first", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListClients(ctx, "acme")
			wantEqual(t, "ListClients(acme)", clientIDs(got), []string{"c-old", "c-full", "c-a", "c-b"})
			none, err2 := tx.ListClients(ctx, "nobody")
			wantEqual(t, "ListClients(nobody)", clientIDs(none), []string{})
			return errors.Join(err, err2)
		})
	})

	t.Run("update changes settings but not identity or secret", func(t *testing.T) {
		later := t0.Add(time.Hour)
		mustTx(t, s, func(tx store.Tx) error {
			c, err := tx.GetClient(ctx, "acme", "c-a")
			if err != nil {
				return err
			}
			c.Name, c.AuthMethod, c.JWKS = "Renamed", "private_key_jwt", []byte(`{"keys":[]}`)
			c.RedirectURIs, c.PostLogoutRedirectURIs = []string{"https://new.example.com/cb"}, []string{"https://new.example.com/bye"}
			c.GrantTypes, c.Scopes = []string{"client_credentials"}, []string{"api:write"}
			c.FirstParty, c.RequirePAR, c.DPoPBound, c.IDTokenAlg = true, true, true, "RS256"
			c.VerificationURIComplete, c.DeviceProximity, c.UpdatedAt = true, "warn", later
			// These must not change through UpdateClient.
			c.Type, c.SecretHash, c.CreatedAt, c.SecretRotatedAt = store.ClientPublic, "forged", later, later
			return tx.UpdateClient(ctx, c)
		})
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetClient(ctx, "acme", "c-a")
			if err != nil {
				return err
			}
			want := store.Client{
				ID: "c-a", TenantID: "acme", Name: "Renamed", Type: store.ClientConfidential, AuthMethod: "private_key_jwt",
				SecretHash: "hash-of-c-a", JWKS: []byte(`{"keys":[]}`), RedirectURIs: []string{"https://new.example.com/cb"},
				PostLogoutRedirectURIs: []string{"https://new.example.com/bye"}, GrantTypes: []string{"client_credentials"},
				Scopes: []string{"api:write"}, FirstParty: true, RequirePAR: true, DPoPBound: true, IDTokenAlg: "RS256",
				VerificationURIComplete: true, DeviceProximity: "warn", CreatedAt: store.Micro(t0.Add(2 * time.Second)),
				UpdatedAt: store.Micro(later), SecretRotatedAt: store.Micro(t0.Add(2 * time.Second)),
			}
			wantEqual(t, "client after update", *got, want)
			return nil
		})
		err := txErr(t, s, func(tx store.Tx) error { return tx.UpdateClient(ctx, newClient("globex", "c-b", t0)) })
		wantErr(t, "UpdateClient(other tenant)", err, store.ErrNotFound)
	})

	t.Run("secret is replaced on its own", func(t *testing.T) {
		at := t0.Add(3 * time.Hour)
		mustTx(t, s, func(tx store.Tx) error { return tx.SetClientSecret(ctx, "acme", "c-b", "new-hash", at) })
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetClient(ctx, "acme", "c-b")
			if err != nil {
				return err
			}
			if got.SecretHash != "new-hash" || !got.SecretRotatedAt.Equal(store.Micro(at)) || !got.UpdatedAt.Equal(store.Micro(at)) {
				t.Errorf("after SetClientSecret: hash %q rotated %v updated %v", got.SecretHash, got.SecretRotatedAt, got.UpdatedAt)
			}
			return nil
		})
		err := txErr(t, s, func(tx store.Tx) error { return tx.SetClientSecret(ctx, "globex", "c-b", "x", at) })
		wantErr(t, "SetClientSecret(other tenant)", err, store.ErrNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		err := txErr(t, s, func(tx store.Tx) error { return tx.DeleteClient(ctx, "globex", "c-old") })
		wantErr(t, "DeleteClient(other tenant)", err, store.ErrNotFound)
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteClient(ctx, "acme", "c-old") })
		err = txErr(t, s, func(tx store.Tx) error { return tx.DeleteClient(ctx, "acme", "c-old") })
		wantErr(t, "DeleteClient(again)", err, store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			_, err := tx.GetClient(ctx, "acme", "c-old")
			wantErr(t, "GetClient(deleted)", err, store.ErrNotFound)
			return nil
		})
	})
}
