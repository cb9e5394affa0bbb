package keys_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// fixture is one database shared by any number of nodes, and a clock they all read.
type fixture struct {
	db     *sqlstore.DB
	kek    []byte
	mu     sync.Mutex
	now    time.Time
	maxTok time.Duration
}

func mustFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, kek: bytes.Repeat([]byte{7}, keys.KEKSize), now: t0, maxTok: time.Hour}
	ts := &tenant.Service{Store: db, Now: f.clock}
	for _, id := range []string{"acme", "beta"} {
		if _, err := ts.Create(ctx, id, "", audit.System()); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) set(at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = at
}

// node returns a KeyManager with an empty cache, as a freshly started server has.
func (f *fixture) node(t *testing.T) *keys.KeyManager {
	t.Helper()
	return f.nodeWithKEK(t, f.kek)
}

func (f *fixture) nodeWithKEK(t *testing.T, kek []byte) *keys.KeyManager {
	t.Helper()
	s, err := keys.NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	return &keys.KeyManager{Store: f.db, Sealer: s, Now: f.clock, MaxTokenLifetime: f.maxTok}
}

func mustSigner(t *testing.T, m *keys.KeyManager, tenantID, alg string) string {
	t.Helper()
	kid, _, err := m.Signer(context.Background(), tenantID, alg)
	if err != nil {
		t.Fatalf("Signer(%s, %s): %v", tenantID, alg, err)
	}
	return kid
}

func mustJWKS(t *testing.T, m *keys.KeyManager, tenantID string) jose.JSONWebKeySet {
	t.Helper()
	set, err := m.JWKS(context.Background(), tenantID)
	if err != nil {
		t.Fatalf("JWKS(%s): %v", tenantID, err)
	}
	return set
}

func jwksKIDs(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	slices.Sort(out)
	return out
}

func sorted(v ...string) []string { slices.Sort(v); return v }

func auditTypes(t *testing.T, db *sqlstore.DB, tenantID, prefix string) []store.AuditEvent {
	t.Helper()
	var evs []store.AuditEvent
	err := db.View(context.Background(), func(tx store.Tx) error {
		var err error
		evs, err = tx.QueryAudit(context.Background(), store.AuditQuery{TenantID: tenantID, Type: prefix})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestEnsureCreatesOneActiveKeyPerAlgorithm(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	a, b := f.node(t), f.node(t)

	// Two nodes starting together create each key once.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, m := range []*keys.KeyManager{a, b} {
		wg.Go(func() { errs <- m.Ensure(ctx, "acme") })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Ensure: %v", err)
		}
	}
	if err := a.Ensure(ctx, "acme"); err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	infos, err := a.Keys(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].Alg != keys.ES256 || infos[1].Alg != keys.RS256 {
		t.Fatalf("keys after Ensure: %+v, want one ES256 and one RS256", infos)
	}
	for _, k := range infos {
		if k.State != store.KeyActive {
			t.Errorf("%s key %s is %s, want active", k.Alg, k.KID, k.State)
		}
	}
	if evs := auditTypes(t, f.db, "acme", audit.KeyCreated); len(evs) != 2 {
		t.Errorf("%d key.created events, want 2", len(evs))
	}

	_, es, err := b.Signer(ctx, "acme", keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := es.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("ES256 signer is %T, want a P-256 ECDSA key", es)
	}
	_, rs, err := b.Signer(ctx, "acme", keys.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := rs.(*rsa.PrivateKey); !ok || k.N.BitLen() < 2048 {
		t.Errorf("RS256 signer is %T, want an RSA key of at least 2048 bits", rs)
	}

	if _, _, err := a.Signer(ctx, "acme", "HS256"); !errors.Is(err, keys.ErrInvalid) {
		t.Errorf("Signer(HS256) = %v, want ErrInvalid", err)
	}
	if err := a.Ensure(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Ensure(unknown tenant) = %v, want ErrNotFound", err)
	}
}

// A tenant created after the server started gets keys the first time anything asks.
func TestSignerAndJWKSCreateMissingKeys(t *testing.T) {
	f := mustFixture(t)
	m := f.node(t)
	set := mustJWKS(t, m, "beta")
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS of a tenant without keys has %d keys, want 2 new ones", len(set.Keys))
	}
	kid := mustSigner(t, m, "beta", keys.ES256)
	if len(set.Key(kid)) != 1 {
		t.Errorf("signing kid %s is not in the JWKS %v", kid, jwksKIDs(set))
	}
}

// Tokens signed by Signer verify against the published JWKS, which carries only
// public keys, each with use, alg and kid.
func TestSignaturesVerifyAgainstJWKS(t *testing.T) {
	f := mustFixture(t)
	m := f.node(t)
	ctx := context.Background()
	set := mustJWKS(t, m, "acme")
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range raw.Keys {
		if k["use"] != "sig" || k["kid"] == "" || (k["alg"] != keys.ES256 && k["alg"] != keys.RS256) {
			t.Errorf("JWKS entry lacks use/alg/kid: %v", k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS entry %v carries private member %q", k["kid"], private)
			}
		}
	}
	// Parse what a relying party downloads, not the in-memory set.
	var published jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &published); err != nil {
		t.Fatal(err)
	}
	for _, alg := range keys.Algorithms() {
		kid, signer, err := m.Signer(ctx, "acme", alg)
		if err != nil {
			t.Fatal(err)
		}
		js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: signer},
			(&jose.SignerOptions{}).WithHeader("kid", kid))
		if err != nil {
			t.Fatalf("%s: jose.NewSigner: %v", alg, err)
		}
		obj, err := js.Sign([]byte(`{"sub":"ann"}`))
		if err != nil {
			t.Fatal(err)
		}
		compact, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		found := published.Key(parsed.Signatures[0].Header.KeyID)
		if len(found) != 1 {
			t.Fatalf("%s: kid %s not in the published JWKS", alg, kid)
		}
		if _, err := parsed.Verify(found[0]); err != nil {
			t.Errorf("%s: signature does not verify with the published key: %v", alg, err)
		}
	}
}

// TestRotationTimeline follows one rotation with an injected clock, asking two nodes
// with separate caches at every step: they must always agree.
func TestRotationTimeline(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	a, b := f.node(t), f.node(t)
	if err := a.Ensure(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	oldKID := mustSigner(t, a, "acme", keys.ES256)
	rsKID := mustSigner(t, a, "acme", keys.RS256)

	f.set(t0.Add(time.Hour))
	overlap := 24 * time.Hour
	r, err := a.Rotate(ctx, "acme", keys.ES256, overlap, audit.CLI("ops"))
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	activation := t0.Add(time.Hour + overlap)
	if r.PreviousKID != oldKID || !r.ActivatesAt.Equal(activation) || !r.RetireUntil.Equal(activation.Add(f.maxTok)) {
		t.Fatalf("Rotate = %+v; want previous %s, activation %v, retire_until %v", r, oldKID, activation, activation.Add(f.maxTok))
	}
	newKID := r.KID

	steps := []struct {
		name   string
		at     time.Time
		signer string
		jwks   []string
	}{
		{"right after rotation: next published, not signing", t0.Add(time.Hour), oldKID, sorted(oldKID, newKID, rsKID)},
		{"just before activation", activation.Add(-time.Microsecond), oldKID, sorted(oldKID, newKID, rsKID)},
		{"at activation: new key signs, old one still published", activation, newKID, sorted(oldKID, newKID, rsKID)},
		{"just before retire_until", activation.Add(f.maxTok - time.Microsecond), newKID, sorted(oldKID, newKID, rsKID)},
		{"at retire_until: old key dropped", activation.Add(f.maxTok), newKID, sorted(newKID, rsKID)},
		{"a year later", activation.Add(365 * 24 * time.Hour), newKID, sorted(newKID, rsKID)},
	}
	for _, s := range steps {
		f.set(s.at)
		for i, m := range []*keys.KeyManager{a, b, f.node(t)} {
			if got := mustSigner(t, m, "acme", keys.ES256); got != s.signer {
				t.Errorf("%s: node %d signs with %s, want %s", s.name, i, got, s.signer)
			}
			if got := jwksKIDs(mustJWKS(t, m, "acme")); !slices.Equal(got, s.jwks) {
				t.Errorf("%s: node %d publishes %v, want %v", s.name, i, got, s.jwks)
			}
		}
		if got := mustSigner(t, a, "acme", keys.RS256); got != rsKID {
			t.Errorf("%s: rotating ES256 changed the RS256 signer to %s", s.name, got)
		}
	}

	evs := auditTypes(t, f.db, "acme", audit.KeyRotated)
	if len(evs) != 1 || evs[0].TargetID != newKID || evs[0].ActorID != "ops" {
		t.Fatalf("key.rotated events: %+v", evs)
	}
	var details map[string]any
	if err := json.Unmarshal(evs[0].Details, &details); err != nil || details["previous_kid"] != oldKID || details["alg"] != keys.ES256 {
		t.Errorf("key.rotated details = %s", evs[0].Details)
	}

	// The next rotation deletes the key that left the JWKS, private half and all.
	r2, err := a.Rotate(ctx, "acme", keys.ES256, time.Hour, audit.CLI("ops"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r2.Deleted, []string{oldKID}) {
		t.Errorf("second rotation deleted %v, want [%s]", r2.Deleted, oldKID)
	}
	infos, err := a.Keys(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, k := range infos {
		states = append(states, k.Alg+":"+k.State)
	}
	if want := []string{"ES256:active", "ES256:next", "RS256:active"}; !slices.Equal(states, want) {
		t.Errorf("keys after second rotation: %v, want %v", states, want)
	}
}

func TestRotateRefusals(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	m := f.node(t)
	if err := m.Ensure(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		tenant  string
		alg     string
		overlap time.Duration
		want    error
	}{
		{"unknown algorithm", "acme", "HS256", time.Hour, keys.ErrInvalid},
		{"none algorithm", "acme", "none", time.Hour, keys.ErrInvalid},
		{"lower-case algorithm", "acme", "es256", time.Hour, keys.ErrInvalid},
		{"negative overlap", "acme", keys.ES256, -time.Second, keys.ErrInvalid},
		{"unknown tenant", "nobody", keys.ES256, time.Hour, store.ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := m.Rotate(ctx, c.tenant, c.alg, c.overlap, audit.CLI("ops")); !errors.Is(err, c.want) {
				t.Errorf("Rotate = %v, want %v", err, c.want)
			}
		})
	}

	if _, err := m.Rotate(ctx, "acme", keys.RS256, time.Hour, audit.CLI("ops")); err != nil {
		t.Fatal(err)
	}
	_, err := m.Rotate(ctx, "acme", keys.RS256, time.Hour, audit.CLI("ops"))
	if !errors.Is(err, keys.ErrRotationPending) {
		t.Fatalf("second rotation during the overlap = %v, want ErrRotationPending", err)
	}
	// The other algorithm rotates independently.
	if _, err := m.Rotate(ctx, "acme", keys.ES256, time.Hour, audit.CLI("ops")); err != nil {
		t.Errorf("rotating ES256 while RS256 is pending: %v", err)
	}
	f.set(t0.Add(time.Hour))
	if _, err := m.Rotate(ctx, "acme", keys.RS256, 0, audit.CLI("ops")); err != nil {
		t.Errorf("rotation after the pending key activated: %v", err)
	}
	if evs := auditTypes(t, f.db, "acme", audit.KeyRotated); len(evs) != 3 {
		t.Errorf("%d key.rotated events, want 3 (refusals write none)", len(evs))
	}
}

// With no key to overlap with, a rotation's key signs at once; an overlap of zero
// switches at once too, for a key that must stop signing now.
func TestRotateImmediately(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	m := f.node(t)
	r, err := m.Rotate(ctx, "beta", keys.ES256, 24*time.Hour, audit.CLI("ops"))
	if err != nil {
		t.Fatal(err)
	}
	if r.PreviousKID != "" || !r.ActivatesAt.Equal(t0) {
		t.Errorf("first rotation = %+v, want no previous key and activation now", r)
	}
	if got := mustSigner(t, m, "beta", keys.ES256); got != r.KID {
		t.Errorf("signer %s, want the rotated key %s", got, r.KID)
	}
	r2, err := m.Rotate(ctx, "beta", keys.ES256, 0, audit.CLI("ops"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSigner(t, m, "beta", keys.ES256); got != r2.KID {
		t.Errorf("after a zero-overlap rotation the signer is %s, want %s", got, r2.KID)
	}
	if got := jwksKIDs(mustJWKS(t, m, "beta")); !slices.Contains(got, r.KID) {
		t.Errorf("the replaced key %s left the JWKS at once: %v", r.KID, got)
	}
}

// TestPrivateKeysSealedAtRest reads the table as someone holding a copy of the
// database would: no private key may appear in any encoding, and the sealed form opens
// only under the right key-encryption key, tenant and kid.
func TestPrivateKeysSealedAtRest(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	m := f.node(t)
	if err := m.Ensure(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, "acme", keys.ES256, time.Hour, audit.CLI("ops")); err != nil {
		t.Fatal(err)
	}

	var secrets [][]byte
	for _, alg := range keys.Algorithms() {
		_, signer, err := m.Signer(ctx, "acme", alg)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(signer)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, der)
		switch k := signer.(type) {
		case *ecdsa.PrivateKey:
			d, err := k.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, d)
		case *rsa.PrivateKey:
			secrets = append(secrets, k.D.Bytes(), k.Primes[0].Bytes(), k.Primes[1].Bytes())
		}
	}
	var encodings []string
	for _, s := range secrets {
		encodings = append(encodings, string(s), hex.EncodeToString(s), base64.StdEncoding.EncodeToString(s),
			base64.RawURLEncoding.EncodeToString(s), base64.RawStdEncoding.EncodeToString(s))
	}

	rows, err := f.db.SQL().QueryContext(ctx, `SELECT * FROM signing_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			var cell []byte
			switch v := v.(type) {
			case string:
				cell = []byte(v)
			case []byte:
				cell = v
			default:
				continue
			}
			for _, enc := range encodings {
				if len(enc) >= 16 && bytes.Contains(cell, []byte(enc[:16])) {
					t.Errorf("column %s holds private key material in the clear", cols[i])
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d rows in signing_keys, want 3", n)
	}

	// Another key-encryption key cannot sign, and refuses to add keys nobody could use.
	other := f.nodeWithKEK(t, bytes.Repeat([]byte{8}, keys.KEKSize))
	if _, _, err := other.Signer(ctx, "acme", keys.ES256); !errors.Is(err, keys.ErrWrongKEK) {
		t.Errorf("Signer under another KEK = %v, want ErrWrongKEK", err)
	}
	if _, err := other.Rotate(ctx, "acme", keys.RS256, time.Hour, audit.CLI("ops")); !errors.Is(err, keys.ErrWrongKEK) {
		t.Errorf("Rotate under another KEK = %v, want ErrWrongKEK", err)
	}
	// Public keys need no secret: the JWKS is served even so.
	if set, err := other.JWKS(ctx, "acme"); err != nil || len(set.Keys) != 3 {
		t.Errorf("JWKS under another KEK = %d keys, %v; want 3", len(set.Keys), err)
	}

	// A sealed key moved to another tenant does not open there.
	if _, err := f.db.SQL().ExecContext(ctx, `UPDATE signing_keys SET tenant_id = 'beta' WHERE alg = 'RS256'`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.node(t).Signer(ctx, "beta", keys.RS256); !errors.Is(err, keys.ErrWrongKEK) {
		t.Errorf("a key moved to another tenant signed: %v", err)
	}
}
