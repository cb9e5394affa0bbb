package oauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DPoP (RFC 9449) proof limits.
const (
	// dpopMaxAge is how old a proof's iat may be; dpopSkew how far in the future.
	dpopMaxAge = 2 * time.Minute
	dpopSkew   = 30 * time.Second
	kindDPoP   = "oauth_dpop_jti"
	// tokenTypeDPoP is the token_type of a DPoP-bound access token (RFC 9449 §5).
	tokenTypeDPoP = "DPoP"
)

// dpopAlgs are the proof signature algorithms accepted: asymmetric only (§4.3).
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.PS256, jose.EdDSA}

func dpopAlgNames() []string {
	out := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		out[i] = string(a)
	}
	return out
}

type confirmation struct {
	JKT string `json:"jkt"`
}

type dpopClaims struct {
	ID       string           `json:"jti"`
	Method   string           `json:"htm"`
	URI      string           `json:"htu"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	ATH      string           `json:"ath,omitempty"`
	Nonce    string           `json:"nonce,omitempty"`
}

func invalidProof(desc string) error {
	return &oidc.Error{ErrorType: "invalid_dpop_proof", Description: desc}
}

// checkDPoP validates the request's DPoP proof, if it has one, for method and the
// endpoint URL target, and returns the thumbprint of its key ("" without a proof).
// accessToken, when set, must be what the proof's ath hashes (§4.3, step 12). Each
// proof's jti is remembered until its iat leaves the window, so a replay fails on
// every node.
func (p *Provider) checkDPoP(ctx context.Context, tenantID string, h http.Header, method, target, accessToken string) (string, error) {
	proofs := h.Values("DPoP")
	if len(proofs) == 0 {
		return "", nil
	}
	if len(proofs) > 1 {
		return "", invalidProof("more than one DPoP header")
	}
	raw := proofs[0]
	if len(raw) > 8<<10 {
		return "", invalidProof("DPoP proof is too large")
	}
	tok, err := jwt.ParseSigned(raw, dpopAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return "", invalidProof("DPoP proof is not a JWS signed with an accepted algorithm")
	}
	hdr := tok.Headers[0]
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return "", invalidProof("DPoP proof typ must be dpop+jwt")
	}
	key := hdr.JSONWebKey
	if key == nil || !key.IsPublic() || !key.Valid() {
		return "", invalidProof("DPoP proof must carry a public jwk")
	}
	if rk, ok := key.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
		return "", invalidProof("DPoP proof key is too weak")
	}
	var c dpopClaims
	if err := tok.Claims(key.Key, &c); err != nil {
		return "", invalidProof("DPoP proof signature is not valid")
	}
	now := p.Now()
	switch {
	case c.ID == "" || len(c.ID) > 256 || c.IssuedAt == nil:
		return "", invalidProof("DPoP proof lacks jti or iat")
	case c.Method != method:
		return "", invalidProof("DPoP proof htm does not match the request")
	case !sameTarget(c.URI, target):
		return "", invalidProof("DPoP proof htu does not match the request")
	case c.IssuedAt.Time().Before(now.Add(-dpopMaxAge)) || c.IssuedAt.Time().After(now.Add(dpopSkew)):
		return "", invalidProof("DPoP proof iat is outside the accepted window")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if subtle.ConstantTimeCompare([]byte(c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
			return "", invalidProof("DPoP proof ath does not match the access token")
		}
	} else if c.ATH != "" {
		return "", invalidProof("DPoP proof has ath but no access token was presented")
	}
	// The nonce is checked last, so a proof refused for want of one was otherwise
	// good; its jti is not spent, as the client must send a new proof anyway.
	if err := p.checkNonce(tenantID, c.Nonce); err != nil {
		return "", err
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", invalidProof("DPoP proof key has no thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.PutArtifact(ctx, &store.Artifact{Hash: secret.Hash(jkt + "\x00" + c.ID), Kind: kindDPoP, TenantID: tenantID,
			Subject: jkt, CreatedAt: now, ExpiresAt: c.IssuedAt.Time().Add(dpopMaxAge + dpopSkew)})
	})
	if errors.Is(err, store.ErrConflict) {
		return "", invalidProof("DPoP proof jti was already used")
	}
	if err != nil {
		return "", serverError("store DPoP proof id", err)
	}
	return jkt, nil
}

// sameTarget compares a proof's htu with the endpoint URL, ignoring query and
// fragment and the case of scheme and host, and a default port (§4.3, RFC 3986 §6).
func sameTarget(htu, target string) bool {
	norm := func(s string) string {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return ""
		}
		host := strings.ToLower(u.Host)
		scheme := strings.ToLower(u.Scheme)
		host = strings.TrimSuffix(host, map[string]string{"https": ":443", "http": ":80"}[scheme])
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		return scheme + "://" + host + path
	}
	a := norm(htu)
	return a != "" && a == norm(target)
}

// tokenDPoP checks the DPoP proof of a token endpoint request, if it has one, and
// returns its key thumbprint; the grant checks the client's need for one
// (proofRequired) with the client record it issues with.
func (p *Provider) tokenDPoP(ctx context.Context, tenantID string, h http.Header) (string, error) {
	return p.checkDPoP(ctx, tenantID, h, http.MethodPost, p.Issuer(tenantID)+pathToken, "")
}

// tokenProof checks the DPoP proof of a token endpoint request and the client's
// registration: a client registered with dpop_bound_access_tokens must send one.
func (p *Provider) tokenProof(ctx context.Context, tenantID string, h http.Header, c *store.Client) (string, error) {
	jkt, err := p.tokenDPoP(ctx, tenantID, h)
	if err != nil {
		return "", err
	}
	if err := proofRequired(c, jkt); err != nil {
		return "", err
	}
	return jkt, nil
}

// proofRequired refuses a token request without a DPoP proof (jkt empty) from a
// client registered with dpop_bound_access_tokens.
func proofRequired(c *store.Client, jkt string) error {
	if jkt == "" && c.DPoPBound {
		return invalidProof("this client must send a DPoP proof")
	}
	return nil
}

// dpopKey carries the thumbprint of a verified resource-request proof on the context.
type dpopKey struct{}

// dpopResource verifies the proof of a userinfo request sent with the DPoP scheme
// (§7.1) and hands the token on as the engine expects it, with the proof's key
// thumbprint on the context for UserInfo to compare with the token's cnf.jkt.
func (p *Provider) dpopResource(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !dpopScheme(auth) {
			next.ServeHTTP(w, r)
			return
		}
		token := strings.TrimSpace(auth[5:])
		t := tenantOf(r)
		jkt, err := p.checkDPoP(r.Context(), t.ID, r.Header, r.Method, p.Issuer(t.ID)+pathUserinfo, token)
		if err == nil && jkt == "" {
			err = invalidProof("the DPoP scheme needs a DPoP proof")
		}
		if oe := (*oidc.Error)(nil); errors.As(err, &oe) && oe.ErrorType == errUseNonce {
			// RFC 9449 §9: a resource server asks for a nonce with 401 and this challenge.
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="`+oe.Description+`", algs="`+
				strings.Join(dpopAlgNames(), " ")+`"`)
			op.WriteError(w, r, op.NewStatusError(err, http.StatusUnauthorized), nil)
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof", algs="`+strings.Join(dpopAlgNames(), " ")+`"`)
			op.WriteError(w, r, op.NewStatusError(err, http.StatusUnauthorized), nil)
			return
		}
		r = r.Clone(context.WithValue(r.Context(), dpopKey{}, jkt))
		r.Header.Set("Authorization", "Bearer "+token)
		next.ServeHTTP(w, r)
	})
}
