// Package dpoptest makes DPoP proofs (RFC 9449) for tests: a client's key pair and
// signed proof JWTs, including deliberately wrong ones (old iat, signed by another
// key than the one in the header).
package dpoptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Key is a client's DPoP key pair and its JWK thumbprint (the token's cnf.jkt).
type Key struct {
	Priv *ecdsa.PrivateKey
	JKT  string
}

// NewKey makes a P-256 key pair.
func NewKey(t testing.TB) *Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{Priv: k, JKT: base64.RawURLEncoding.EncodeToString(tp)}
}

// Proof says what a proof claims.
type Proof struct {
	Method, URI string
	AccessToken string            // bound by ath when set
	Nonce       string            // the server's DPoP-Nonce, when it asks for one
	IAT         time.Time         // default now
	SignWith    *ecdsa.PrivateKey // a key other than the one in the header
}

// Proof makes a signed proof JWT with a fresh jti.
func (k *Key) Proof(t testing.TB, p Proof) string {
	t.Helper()
	signKey := k.Priv
	if p.SignWith != nil {
		signKey = p.SignWith
	}
	opts := (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", jose.JSONWebKey{Key: &k.Priv.PublicKey})
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: signKey}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.IAT.IsZero() {
		p.IAT = time.Now()
	}
	claims := map[string]any{"jti": rand.Text(), "htm": p.Method, "htu": p.URI, "iat": p.IAT.Unix()}
	if p.Nonce != "" {
		claims["nonce"] = p.Nonce
	}
	if p.AccessToken != "" {
		sum := sha256.Sum256([]byte(p.AccessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
