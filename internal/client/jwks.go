package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Bounds on a client's JWK Set: a few keys (current and next) are all rotation needs.
const (
	maxJWKSSize = 64 << 10
	maxJWKSKeys = 10
)

// privateMembers are the JWK members that carry private or symmetric key material
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1, RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// algsFor lists the JWS algorithms a client may sign its assertions with, per key type
// and curve.
func algsFor(k *jose.JSONWebKey) []string {
	switch pub := k.Key.(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return []string{"ES256"}
		case elliptic.P384():
			return []string{"ES384"}
		case elliptic.P521():
			return []string{"ES512"}
		}
	case *rsa.PublicKey:
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	}
	return nil
}

// ParseJWKS checks a client's JWK Set for private_key_jwt and returns it re-encoded
// with only the public members Gatehouse understands. It refuses private or symmetric
// key material, key types other than EC (P-256, P-384, P-521) and RSA (2048 bits or
// more), keys not meant for signatures, an alg that does not fit its key, and
// missing or repeated kids when there is more than one key.
func ParseJWKS(doc []byte) ([]byte, error) {
	if len(doc) > maxJWKSSize {
		return nil, fmt.Errorf("%w: JWKS larger than %d bytes", ErrInvalid, maxJWKSSize)
	}
	// Look at the raw members first: the JOSE library would accept a private key,
	// and refusing it here means one never reaches the database.
	var raw struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("%w: JWKS is not a JWK Set document ({\"keys\": [...]}): %v", ErrInvalid, err)
	}
	if len(raw.Keys) == 0 {
		return nil, fmt.Errorf("%w: JWKS holds no keys", ErrInvalid)
	}
	if len(raw.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("%w: JWKS holds %d keys, at most %d are allowed", ErrInvalid, len(raw.Keys), maxJWKSKeys)
	}
	set := jose.JSONWebKeySet{}
	kids := map[string]bool{}
	for i, members := range raw.Keys {
		where := fmt.Sprintf("JWKS key %d", i+1)
		for _, m := range privateMembers {
			if _, ok := members[m]; ok {
				return nil, fmt.Errorf("%w: %s holds private key material (%q): register only public keys", ErrInvalid, where, m)
			}
		}
		var kty, use string
		json.Unmarshal(members["kty"], &kty)
		json.Unmarshal(members["use"], &use)
		if kty != "EC" && kty != "RSA" {
			return nil, fmt.Errorf("%w: %s has key type %q: only EC and RSA public keys are allowed", ErrInvalid, where, kty)
		}
		if use != "" && use != "sig" {
			return nil, fmt.Errorf("%w: %s is for %q, not for signatures (use \"sig\")", ErrInvalid, where, use)
		}
		b, _ := json.Marshal(members)
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, where, err)
		}
		if !k.Valid() || !k.IsPublic() {
			return nil, fmt.Errorf("%w: %s is not a valid public key", ErrInvalid, where)
		}
		if pub, ok := k.Key.(*rsa.PublicKey); ok && pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: %s is a %d-bit RSA key: at least 2048 bits are required", ErrInvalid, where, pub.N.BitLen())
		}
		algs := algsFor(&k)
		if len(algs) == 0 {
			return nil, fmt.Errorf("%w: %s uses an unsupported curve", ErrInvalid, where)
		}
		if k.Algorithm != "" && !slices.Contains(algs, k.Algorithm) {
			return nil, fmt.Errorf("%w: %s has alg %q, which does not fit its key (want one of %v)", ErrInvalid, where, k.Algorithm, algs)
		}
		if len(raw.Keys) > 1 && k.KeyID == "" {
			return nil, fmt.Errorf("%w: %s has no kid: every key of a JWKS with several keys needs one", ErrInvalid, where)
		}
		if kids[k.KeyID] {
			return nil, fmt.Errorf("%w: %s repeats kid %q", ErrInvalid, where, k.KeyID)
		}
		kids[k.KeyID] = true
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.KeyID, Algorithm: k.Algorithm, Use: k.Use})
	}
	out, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("encode JWKS: %w", err)
	}
	return out, nil
}

// KeySet returns the public keys a private_key_jwt client signs its assertions with;
// the set is empty for other clients.
func KeySet(c *store.Client) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if len(c.JWKS) == 0 {
		return set, nil
	}
	if err := json.NewDecoder(bytes.NewReader(c.JWKS)).Decode(&set); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("client %s: stored JWKS: %w", c.ID, err)
	}
	return set, nil
}
