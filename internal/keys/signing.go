package keys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Signing algorithms. Every tenant has a key of each; ES256 is the default.
const (
	ES256 = "ES256"
	RS256 = "RS256"
)

// Algorithms returns the signing algorithms a tenant has keys for, the default first.
func Algorithms() []string { return []string{ES256, RS256} }

// RSABits is the size of new RS256 keys.
const RSABits = 2048

// DefaultMaxTokenLifetime is what KeyManager assumes when MaxTokenLifetime is zero.
const DefaultMaxTokenLifetime = 24 * time.Hour

var (
	// ErrInvalid wraps input errors whose message is safe to show.
	ErrInvalid = errors.New("invalid")
	// ErrRotationPending means the tenant already has a next key of that algorithm
	// waiting to become active, or another rotation committed first.
	ErrRotationPending = errors.New("a key rotation is already in progress")
	// ErrWrongKEK means the configured key-encryption key does not open the tenant's
	// existing keys, so keys sealed under it would be unreadable to the servers.
	ErrWrongKEK = errors.New("the key-encryption key does not open this tenant's signing keys")
)

// KeyManager creates, rotates and serves the tenants' token signing keys. A key's state
// (next, active, retired) follows from the times stored with it, so every node
// reading the database agrees on which key signs without talking to the others.
//
// Its methods open their own transactions: never call them inside one.
type KeyManager struct {
	Store  store.Store
	Sealer *Sealer
	Now    func() time.Time
	// MaxTokenLifetime is the longest any token signed with these keys stays valid.
	// A retired key stays in the JWKS this long after it stops signing. Zero means
	// DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration

	mu sync.Mutex
	// cache holds parsed keys by "tenant/kid". A kid's key material never changes
	// once stored, so entries never go stale; Rotate evicts the keys it deletes.
	cache map[string]*material
}

// KeyInfo describes a signing key without its private part.
type KeyInfo struct {
	KID         string    `json:"kid"`
	Alg         string    `json:"alg"`
	State       string    `json:"state"`
	CreatedAt   time.Time `json:"created_at"`
	ActivatesAt time.Time `json:"activates_at"`
	RetiresAt   time.Time `json:"retires_at,omitzero"`
	RetireUntil time.Time `json:"retire_until,omitzero"`
}

// Rotation reports what Rotate did.
type Rotation struct {
	Alg         string
	KID         string    // the new key
	ActivatesAt time.Time // when the new key starts signing
	PreviousKID string    // the key it replaces; empty if there was none
	RetireUntil time.Time // when the previous key leaves the JWKS
	Deleted     []string  // keys that had left the JWKS, deleted by this rotation
}

func (m *KeyManager) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func (m *KeyManager) maxTokenLifetime() time.Duration {
	if m.MaxTokenLifetime <= 0 {
		return DefaultMaxTokenLifetime
	}
	return m.MaxTokenLifetime
}

// ValidAlg reports whether alg is a signing algorithm Gatehouse keeps keys for.
func ValidAlg(alg string) bool { return alg == ES256 || alg == RS256 }

func checkAlg(alg string) error {
	if !ValidAlg(alg) {
		return fmt.Errorf("%w: signing algorithm %q: must be ES256 or RS256", ErrInvalid, alg)
	}
	return nil
}

// current returns the key of alg that signs at now: the newest one activated and not
// yet retired. Rotation retires the old key at the moment the new one activates, so
// there is exactly one; picking the newest keeps the answer deterministic regardless.
func current(ks []store.SigningKey, alg string, now time.Time) *store.SigningKey {
	var cur *store.SigningKey
	for i := range ks {
		k := &ks[i]
		if k.Alg == alg && k.State(now) == store.KeyActive && (cur == nil || k.Seq > cur.Seq) {
			cur = k
		}
	}
	return cur
}

// pending returns the key of alg published but not yet signing at now, if any.
func pending(ks []store.SigningKey, alg string, now time.Time) *store.SigningKey {
	for i := range ks {
		if ks[i].Alg == alg && ks[i].State(now) == store.KeyNext {
			return &ks[i]
		}
	}
	return nil
}

func maxSeq(ks []store.SigningKey, alg string) int64 {
	var n int64
	for _, k := range ks {
		if k.Alg == alg && k.Seq > n {
			n = k.Seq
		}
	}
	return n
}

func (m *KeyManager) list(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	var ks []store.SigningKey
	err := m.Store.View(ctx, func(tx store.Tx) error {
		var err error
		ks, err = tx.ListSigningKeys(ctx, tenantID)
		return err
	})
	return ks, err
}

// Ensure gives the tenant an active key of every algorithm it has none of (neither
// active nor waiting to become so), auditing each as key.created. Nodes calling it
// at once create each key only once.
func (m *KeyManager) Ensure(ctx context.Context, tenantID string) error {
	ks, err := m.list(ctx, tenantID)
	if err != nil {
		return err
	}
	now := m.now()
	var missing []string
	for _, alg := range Algorithms() {
		if current(ks, alg, now) == nil && pending(ks, alg, now) == nil {
			missing = append(missing, alg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := m.checkKEK(ks, now); err != nil {
		return err
	}
	// Generate outside the transaction: an RSA key takes long enough to matter to
	// SQLite's single writer.
	fresh := map[string]*store.SigningKey{}
	for _, alg := range missing {
		k, err := m.newKey(tenantID, alg, now)
		if err != nil {
			return err
		}
		fresh[alg] = k
	}
	return m.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx, tenantID); err != nil {
			return fmt.Errorf("tenant %q: %w", tenantID, err)
		}
		ks, err := tx.ListSigningKeys(ctx, tenantID)
		if err != nil {
			return err
		}
		for _, alg := range missing {
			if current(ks, alg, now) != nil || pending(ks, alg, now) != nil {
				continue // another node got there first
			}
			k := *fresh[alg]
			k.Seq = maxSeq(ks, alg) + 1
			err := tx.CreateSigningKey(ctx, &k)
			if errors.Is(err, store.ErrConflict) {
				continue // another node is creating this slot right now
			}
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, now, audit.System(), audit.Entry{
				Type: audit.KeyCreated, TenantID: tenantID, TargetType: "signing_key", TargetID: k.KID,
				Details: map[string]any{"alg": alg, "activates_at": k.ActivatesAt},
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Rotate publishes a new key of alg now and makes it sign after overlap, so relying
// parties that cache the JWKS learn the key before they meet a token signed with it.
// The key it replaces stops signing at that moment and stays published for
// MaxTokenLifetime more, until every token it signed has expired. An overlap of zero
// switches at once (for a compromised key). Keys that have left the JWKS are deleted.
// ErrRotationPending if a next key is already waiting.
func (m *KeyManager) Rotate(ctx context.Context, tenantID, alg string, overlap time.Duration, meta audit.Meta) (*Rotation, error) {
	if err := checkAlg(alg); err != nil {
		return nil, err
	}
	if overlap < 0 {
		return nil, fmt.Errorf("%w: overlap %v: must not be negative", ErrInvalid, overlap)
	}
	now := m.now()
	ks, err := m.list(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := m.checkKEK(ks, now); err != nil {
		return nil, err
	}
	if p := pending(ks, alg, now); p != nil {
		return nil, pendingError(p)
	}
	fresh, err := m.newKey(tenantID, alg, now)
	if err != nil {
		return nil, err
	}
	var r *Rotation
	err = m.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx, tenantID); err != nil {
			return fmt.Errorf("tenant %q: %w", tenantID, err)
		}
		ks, err := tx.ListSigningKeys(ctx, tenantID)
		if err != nil {
			return err
		}
		if p := pending(ks, alg, now); p != nil {
			return pendingError(p)
		}
		k := *fresh
		k.Seq = maxSeq(ks, alg) + 1
		r = &Rotation{Alg: alg, KID: k.KID, ActivatesAt: store.Micro(now)}
		prev := current(ks, alg, now)
		if prev != nil {
			// With nothing to replace, the new key signs at once.
			r.ActivatesAt = store.Micro(now.Add(overlap))
			r.PreviousKID = prev.KID
			r.RetireUntil = store.Micro(r.ActivatesAt.Add(m.maxTokenLifetime()))
		}
		k.ActivatesAt = r.ActivatesAt
		if err := tx.CreateSigningKey(ctx, &k); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("%w: another rotation of %s committed at the same time", ErrRotationPending, alg)
			}
			return err
		}
		if prev != nil {
			err := tx.RetireSigningKey(ctx, tenantID, prev.KID, r.ActivatesAt, r.RetireUntil)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: another rotation of %s committed at the same time", ErrRotationPending, alg)
			}
			if err != nil {
				return err
			}
		}
		if r.Deleted, err = tx.DeleteExpiredSigningKeys(ctx, tenantID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, meta, audit.Entry{
			Type: audit.KeyRotated, TenantID: tenantID, TargetType: "signing_key", TargetID: k.KID,
			Details: map[string]any{
				"alg": alg, "activates_at": r.ActivatesAt, "previous_kid": r.PreviousKID,
				"previous_retire_until": r.RetireUntil, "overlap": overlap.String(), "deleted": r.Deleted,
			},
		})
	})
	if err != nil {
		return nil, err
	}
	m.evict(tenantID, r.Deleted)
	return r, nil
}

func pendingError(p *store.SigningKey) error {
	return fmt.Errorf("%w: %s key %s becomes active at %s; rotate again after that",
		ErrRotationPending, p.Alg, p.KID, p.ActivatesAt.UTC().Format(time.RFC3339))
}

// Signer returns the key that signs the tenant's tokens of alg now, with its kid. A
// next key whose time has come signs from that moment on every node. A tenant without
// keys gets them (see Ensure).
func (m *KeyManager) Signer(ctx context.Context, tenantID, alg string) (kid string, signer crypto.Signer, err error) {
	if err := checkAlg(alg); err != nil {
		return "", nil, err
	}
	ks, err := m.liveKeys(ctx, tenantID)
	if err != nil {
		return "", nil, err
	}
	k := current(ks, alg, m.now())
	if k == nil {
		return "", nil, fmt.Errorf("tenant %q has no active %s signing key", tenantID, alg)
	}
	mat, err := m.material(k, true)
	if err != nil {
		return "", nil, err
	}
	return k.KID, mat.priv, nil
}

// JWKS returns the public keys relying parties need: every next, active and retired
// key still within its retire_until, each with use "sig", its alg and its kid.
func (m *KeyManager) JWKS(ctx context.Context, tenantID string) (jose.JSONWebKeySet, error) {
	ks, err := m.liveKeys(ctx, tenantID)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := m.now()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i := range ks {
		if ks[i].State(now) == store.KeyExpired {
			continue
		}
		mat, err := m.material(&ks[i], false)
		if err != nil {
			return jose.JSONWebKeySet{}, err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: mat.pub, KeyID: ks[i].KID, Algorithm: ks[i].Alg, Use: "sig"})
	}
	return set, nil
}

// Keys lists the tenant's stored keys and their state now, oldest first per algorithm.
func (m *KeyManager) Keys(ctx context.Context, tenantID string) ([]KeyInfo, error) {
	ks, err := m.list(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	out := make([]KeyInfo, 0, len(ks))
	for _, k := range ks {
		out = append(out, KeyInfo{KID: k.KID, Alg: k.Alg, State: k.State(now), CreatedAt: k.CreatedAt,
			ActivatesAt: k.ActivatesAt, RetiresAt: k.RetiresAt, RetireUntil: k.RetireUntil})
	}
	return out, nil
}

// liveKeys lists the tenant's keys, first creating the missing ones if any algorithm
// lacks a signing key, so a tenant created after the server started works at once.
func (m *KeyManager) liveKeys(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	ks, err := m.list(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	for _, alg := range Algorithms() {
		if current(ks, alg, now) == nil {
			if err := m.Ensure(ctx, tenantID); err != nil {
				return nil, err
			}
			return m.list(ctx, tenantID)
		}
	}
	return ks, nil
}
