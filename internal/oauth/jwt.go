package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Token types in the JOSE typ header.
const (
	typAccessToken = "at+jwt" // RFC 9068 §2.1
	typIDToken     = "JWT"
)

// accessClaims are the claims of an RFC 9068 access token.
type accessClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	Expiry   *jwt.NumericDate `json:"exp"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	ID       string           `json:"jti"`
	ClientID string           `json:"client_id"`
	Scope    string           `json:"scope,omitempty"`
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	ACR      string           `json:"acr,omitempty"`
	AMR      []string         `json:"amr,omitempty"`
	// Cnf binds the token to a DPoP key (RFC 9449 §6.1).
	Cnf *confirmation `json:"cnf,omitempty"`
	// AuthFlow names a flow other than an ordinary sign-in ("device_code"), so a
	// resource server can treat device-flow tokens differently.
	AuthFlow string `json:"auth_flow,omitempty"`
}

// idClaims are the claims of an OpenID Connect ID token.
type idClaims struct {
	Issuer        string           `json:"iss"`
	Subject       string           `json:"sub"`
	Audience      jwt.Audience     `json:"aud"`
	Expiry        *jwt.NumericDate `json:"exp"`
	IssuedAt      *jwt.NumericDate `json:"iat"`
	AuthTime      *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce         string           `json:"nonce,omitempty"`
	ACR           string           `json:"acr,omitempty"`
	AMR           []string         `json:"amr,omitempty"`
	SessionID     string           `json:"sid,omitempty"`
	AZP           string           `json:"azp,omitempty"`
	Name          string           `json:"name,omitempty"`
	Email         string           `json:"email,omitempty"`
	EmailVerified *bool            `json:"email_verified,omitempty"`
	AuthFlow      string           `json:"auth_flow,omitempty"`
}

// sign signs claims with the tenant's current key of alg.
func (p *Provider) sign(ctx context.Context, tenantID, alg, typ string, claims any) (string, error) {
	ks, err := p.Keys.List(ctx, tenantID)
	if err != nil {
		return "", err
	}
	return p.signWith(&tenantState{tenantID: tenantID, keys: ks}, alg, typ, claims)
}

// signWith is sign with the tenant's key list already in hand (see tenantState).
func (p *Provider) signWith(st *tenantState, alg, typ string, claims any) (string, error) {
	if alg == "" {
		alg = keys.ES256
	}
	kid, signer, err := p.Keys.SignerFrom(st.keys, alg)
	if err != nil {
		return "", err
	}
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: signer, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	// Signing the marshalled claims directly skips the builder's round trip of
	// every claim set through a map; the token is the same JWT.
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// jtiFor makes an access token id that names its grant ("grant.random"), so a check
// of the token can find the family and see whether it was revoked.
func jtiFor(grantID string) string {
	if grantID == "" {
		return "cc." + secret.ID()
	}
	return grantID + "." + secret.ID()
}

func grantOfJTI(jti string) string {
	g, _, ok := strings.Cut(jti, ".")
	if !ok || g == "cc" {
		return ""
	}
	return g
}

var errBadToken = errors.New("token invalid")

// verify checks a JWT signed by one of the tenant's published keys and of the given
// typ, and decodes its claims. Expiry is the caller's to check.
func (p *Provider) verify(ctx context.Context, tenantID, raw, typ string, claims any) error {
	if raw == "" || len(raw) > 16<<10 {
		return errBadToken
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return errBadToken
	}
	h := tok.Headers[0]
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(got, typ) {
		return errBadToken
	}
	set, err := p.Keys.JWKS(ctx, tenantID)
	if err != nil {
		return err
	}
	ks := set.Key(h.KeyID)
	if len(ks) == 0 {
		return errBadToken
	}
	if err := tok.Claims(ks[0].Key, claims); err != nil {
		return errBadToken
	}
	return nil
}

// activeAccess returns the claims of a live access token of the tenant: right
// signature and type, our issuer, not expired, and its grant not revoked.
func (p *Provider) activeAccess(ctx context.Context, tenantID, raw string) (*accessClaims, *store.Grant, error) {
	var c accessClaims
	if err := p.verify(ctx, tenantID, raw, typAccessToken, &c); err != nil {
		return nil, nil, err
	}
	now := p.Now()
	if c.Issuer != p.Issuer(tenantID) || c.Expiry == nil || !now.Before(c.Expiry.Time()) {
		return nil, nil, errBadToken
	}
	gid := grantOfJTI(c.ID)
	if gid == "" {
		return &c, nil, nil
	}
	g, err := p.liveGrant(ctx, tenantID, gid)
	if err != nil {
		return nil, nil, err
	}
	return &c, g, nil
}

// liveGrant returns the grant if it is neither revoked nor past its end.
func (p *Provider) liveGrant(ctx context.Context, tenantID, id string) (*store.Grant, error) {
	var g *store.Grant
	err := p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		g, err = tx.GetGrant(ctx, tenantID, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	if !g.RevokedAt.IsZero() || !p.Now().Before(g.ExpiresAt) {
		return nil, errBadToken
	}
	return g, nil
}

func numeric(t time.Time) *jwt.NumericDate {
	if t.IsZero() {
		return nil
	}
	return jwt.NewNumericDate(t)
}
