package keys

import (
	"context"
	"crypto"
	"fmt"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// List returns the tenant's stored signing keys, creating the missing ones first as
// Signer does. A caller that signs many tokens can hold the list and sign with
// SignerFrom, but must itself notice when the stored keys change (SameKeys).
func (m *KeyManager) List(ctx context.Context, tenantID string) ([]store.SigningKey, error) {
	return m.liveKeys(ctx, tenantID)
}

// SignerFrom is Signer over a key list the caller already holds (from List or
// store.Tx.ListSigningKeys): it picks the key of alg that signs now and reads
// nothing from the store.
func (m *KeyManager) SignerFrom(ks []store.SigningKey, alg string) (kid string, signer crypto.Signer, err error) {
	if err := checkAlg(alg); err != nil {
		return "", nil, err
	}
	if len(ks) == 0 {
		return "", nil, fmt.Errorf("no signing keys")
	}
	k := current(ks, alg, m.now())
	if k == nil {
		return "", nil, fmt.Errorf("tenant %q has no active %s signing key", ks[0].TenantID, alg)
	}
	mat, err := m.material(k, true)
	if err != nil {
		return "", nil, err
	}
	return k.KID, mat.priv, nil
}

// SameKeys reports whether two listings of a tenant's keys hold the same keys in the
// same schedule. A kid's material never changes, so the kids and their times are all
// that can differ between two reads.
func SameKeys(a, b []store.SigningKey) bool {
	return slices.EqualFunc(a, b, func(x, y store.SigningKey) bool {
		return x.KID == y.KID && x.Alg == y.Alg && x.Seq == y.Seq && x.ActivatesAt.Equal(y.ActivatesAt) &&
			x.RetiresAt.Equal(y.RetiresAt) && x.RetireUntil.Equal(y.RetireUntil)
	})
}
