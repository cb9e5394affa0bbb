package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// material is a stored key parsed for use. priv stays nil until something signs.
type material struct {
	pub  crypto.PublicKey
	priv crypto.Signer
}

// publicKey is what every crypto.PublicKey in the standard library implements.
type publicKey interface{ Equal(crypto.PublicKey) bool }

// sealLabel binds a sealed private key to its tenant and kid, so a row copied into
// another tenant, or under another kid, does not open.
func sealLabel(tenantID, kid string) string { return tenantID + "/" + kid }

// newKey generates a key of alg for the tenant, active from now (callers move
// ActivatesAt for a rotation) and seals its private half. Seq is left for the caller.
func (m *KeyManager) newKey(tenantID, alg string, now time.Time) (*store.SigningKey, error) {
	if m.Sealer == nil {
		return nil, errors.New("signing keys: no key-encryption key configured")
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, RSABits)
	default:
		return nil, checkAlg(alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("encode %s public key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode %s private key: %w", alg, err)
	}
	kid := secret.ID()
	sealed := m.Sealer.Seal(der, sealLabel(tenantID, kid))
	clear(der)
	return &store.SigningKey{TenantID: tenantID, KID: kid, Alg: alg, PublicKey: pub, SealedPrivate: sealed,
		CreatedAt: store.Micro(now), ActivatesAt: store.Micro(now)}, nil
}

// material returns the parsed key k, from the cache when it can; withPrivate opens the
// sealed private key too.
func (m *KeyManager) material(k *store.SigningKey, withPrivate bool) (*material, error) {
	name := sealLabel(k.TenantID, k.KID)
	m.mu.Lock()
	mat := m.cache[name]
	m.mu.Unlock()
	if mat != nil && (mat.priv != nil || !withPrivate) {
		return mat, nil
	}
	pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: public key: %w", k.KID, err)
	}
	mat = &material{pub: pub}
	if withPrivate {
		if mat.priv, err = m.open(k, pub); err != nil {
			return nil, err
		}
	}
	m.remember(k, mat)
	return mat, nil
}

// open decrypts and parses k's private key and checks it belongs to pub.
func (m *KeyManager) open(k *store.SigningKey, pub crypto.PublicKey) (crypto.Signer, error) {
	if m.Sealer == nil {
		return nil, errors.New("signing keys: no key-encryption key configured")
	}
	der, err := m.Sealer.Open(k.SealedPrivate, sealLabel(k.TenantID, k.KID))
	if err != nil {
		return nil, fmt.Errorf("%w: key %s: %v", ErrWrongKEK, k.KID, err)
	}
	defer clear(der)
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: private key: %w", k.KID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: private key of type %T cannot sign", k.KID, parsed)
	}
	if p, ok := priv.Public().(publicKey); !ok || !p.Equal(pub) {
		return nil, fmt.Errorf("signing key %s: private key does not match its public key", k.KID)
	}
	switch priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Alg != ES256 {
			return nil, fmt.Errorf("signing key %s: an EC key stored as %s", k.KID, k.Alg)
		}
	case *rsa.PrivateKey:
		if k.Alg != RS256 {
			return nil, fmt.Errorf("signing key %s: an RSA key stored as %s", k.KID, k.Alg)
		}
	}
	return priv, nil
}

// checkKEK makes sure the configured key-encryption key opens the tenant's newest
// live key before a new key is sealed with it. A command run with another host's key
// file would otherwise store keys that no server can use once they activate.
func (m *KeyManager) checkKEK(ks []store.SigningKey, now time.Time) error {
	var newest *store.SigningKey
	for i := range ks {
		if ks[i].State(now) != store.KeyExpired && (newest == nil || ks[i].CreatedAt.After(newest.CreatedAt)) {
			newest = &ks[i]
		}
	}
	if newest == nil {
		return nil
	}
	_, err := m.material(newest, true)
	return err
}

func (m *KeyManager) remember(k *store.SigningKey, mat *material) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cache == nil {
		m.cache = map[string]*material{}
	}
	m.cache[sealLabel(k.TenantID, k.KID)] = mat
}

// evict forgets deleted keys.
func (m *KeyManager) evict(tenantID string, kids []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, kid := range kids {
		delete(m.cache, sealLabel(tenantID, kid))
	}
}
