package client_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func mustECKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRSAKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwksDoc encodes keys as a JWK Set, each key a JSON object with extra members merged in.
func jwksDoc(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwk returns key as JWK members, with extra merged over them.
func jwk(t testing.TB, key any, extra map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestParseJWKS(t *testing.T) {
	ec := mustECKey(t, elliptic.P256())
	ec384 := mustECKey(t, elliptic.P384())
	rs := mustRSAKey(t, 2048)
	weak := mustRSAKey(t, 1024)

	t.Run("accepts public keys and drops what it does not use", func(t *testing.T) {
		doc := jwksDoc(t,
			jwk(t, &ec.PublicKey, map[string]any{"kid": "a", "alg": "ES256", "use": "sig", "x-note": "ignored"}),
			jwk(t, &rs.PublicKey, map[string]any{"kid": "b", "alg": "PS256"}),
			jwk(t, &ec384.PublicKey, map[string]any{"kid": "c"}),
		)
		out, err := client.ParseJWKS(doc)
		if err != nil {
			t.Fatalf("ParseJWKS: %v", err)
		}
		if strings.Contains(string(out), "x-note") {
			t.Errorf("stored JWKS keeps unknown members: %s", out)
		}
		set, err := client.KeySet(&store.Client{ID: "c1", JWKS: out})
		if err != nil || len(set.Keys) != 3 {
			t.Fatalf("KeySet = %d keys, %v", len(set.Keys), err)
		}
		if got := set.Key("a"); len(got) != 1 || !got[0].IsPublic() || got[0].Algorithm != "ES256" {
			t.Errorf("key a = %+v", got)
		}
	})

	t.Run("a single key needs no kid", func(t *testing.T) {
		if _, err := client.ParseJWKS(jwksDoc(t, jwk(t, &ec.PublicKey, nil))); err != nil {
			t.Errorf("ParseJWKS: %v", err)
		}
	})

	bad := []struct {
		name string
		doc  []byte
		want string
	}{
		{"not JSON", []byte("-----BEGIN PUBLIC KEY-----"), "not a JWK Set"},
		{"a single JWK, not a set", func() []byte { b, _ := json.Marshal(jwk(t, &ec.PublicKey, nil)); return b }(), "no keys"},
		{"empty set", []byte(`{"keys":[]}`), "no keys"},
		{"EC private key", jwksDoc(t, jwk(t, ec, nil)), "private key material"},
		{"RSA private key", jwksDoc(t, jwk(t, rs, nil)), "private key material"},
		{"symmetric key", jwksDoc(t, map[string]any{"kty": "oct", "k": "c2VjcmV0"}), "private key material"},
		{"symmetric key without k", jwksDoc(t, map[string]any{"kty": "oct"}), "only EC and RSA"},
		{"OKP key", jwksDoc(t, map[string]any{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}), "only EC and RSA"},
		{"encryption key", jwksDoc(t, jwk(t, &ec.PublicKey, map[string]any{"use": "enc"})), "not for signatures"},
		{"weak RSA", jwksDoc(t, jwk(t, &weak.PublicKey, nil)), "at least 2048 bits"},
		{"alg does not fit the key", jwksDoc(t, jwk(t, &ec.PublicKey, map[string]any{"alg": "RS256"})), "does not fit"},
		{"alg does not fit the curve", jwksDoc(t, jwk(t, &ec384.PublicKey, map[string]any{"alg": "ES256"})), "does not fit"},
		{"alg none", jwksDoc(t, jwk(t, &ec.PublicKey, map[string]any{"alg": "none"})), "does not fit"},
		{"several keys without kid", jwksDoc(t, jwk(t, &ec.PublicKey, nil), jwk(t, &rs.PublicKey, map[string]any{"kid": "b"})), "no kid"},
		{"repeated kid", jwksDoc(t, jwk(t, &ec.PublicKey, map[string]any{"kid": "a"}), jwk(t, &rs.PublicKey, map[string]any{"kid": "a"})), "repeats kid"},
		{"point off the curve", jwksDoc(t, jwk(t, &ec.PublicKey, map[string]any{"y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})), "JWKS key 1"},
		{"too many keys", func() []byte {
			var ks []map[string]any
			for i := range 11 {
				ks = append(ks, jwk(t, &ec.PublicKey, map[string]any{"kid": string(rune('a' + i))}))
			}
			return jwksDoc(t, ks...)
		}(), "at most 10"},
		{"too large", []byte(`{"keys":[` + strings.Repeat(" ", 70000) + `]}`), "larger than"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := client.ParseJWKS(c.doc)
			if !errors.Is(err, client.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParseJWKS = %v, want an ErrInvalid saying %q", err, c.want)
			}
		})
	}
}

// FuzzParseJWKS checks that whatever ParseJWKS accepts holds only public keys and is
// itself accepted again unchanged.
func FuzzParseJWKS(f *testing.F) {
	f.Add(jwksDoc(f, jwk(f, &mustECKey(f, elliptic.P256()).PublicKey, map[string]any{"kid": "a", "alg": "ES256"})))
	f.Add(jwksDoc(f, jwk(f, mustECKey(f, elliptic.P256()), nil)))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := client.ParseJWKS(doc)
		if err != nil {
			if !errors.Is(err, client.ErrInvalid) {
				t.Fatalf("ParseJWKS error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		set, err := client.KeySet(&store.Client{JWKS: out})
		if err != nil {
			t.Fatalf("accepted JWKS does not read back: %v", err)
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				t.Fatalf("accepted JWKS holds a private key: %s", out)
			}
		}
		again, err := client.ParseJWKS(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("normalized JWKS is not stable: %v\n%s\n%s", err, out, again)
		}
	})
}
