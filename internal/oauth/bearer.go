package oauth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Access is a verified access token that a request presented to a protected
// resource of Gatehouse itself (the admin API).
type Access struct {
	// TenantID is the tenant whose token endpoint issued the token.
	TenantID string
	ClientID string
	Subject  string
	Scopes   []string
	// User reports whether the token acts for a person who authorized the client
	// (authorization code or device grant) rather than for the client itself.
	User   bool
	ID     string // jti
	Expiry time.Time
	// DPoP reports whether the token is sender-constrained and the request proved
	// possession of its key.
	DPoP bool
	// Nonce, when set, is the current server nonce: the resource sends it as the
	// DPoP-Nonce header of its answer, as the token and userinfo endpoints do, so the
	// client always holds a fresh one for its next proof (RFC 9449 §8.2, §9).
	Nonce string
}

// TokenError refuses a presented token. Code is the RFC 6750 / RFC 9449 error code;
// Description is safe to return to the caller. DPoP reports whether the request used
// the DPoP scheme, so the challenge can name it.
type TokenError struct {
	Code        string
	Description string
	DPoP        bool
	// Nonce, when set, is the server nonce a DPoP proof must carry: send it as the
	// DPoP-Nonce header (RFC 9449 §9) so the client can retry.
	Nonce string
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Description }

// VerifyAccess checks the access token of r's Authorization header exactly as the
// userinfo endpoint does: "Bearer" or "DPoP" scheme, a JWT of type at+jwt signed by
// a published key of the tenant its issuer names, not expired, for that issuer as
// audience, its grant (if it has one) not revoked, and — when it carries cnf.jkt —
// presented with the DPoP scheme and a fresh, unreplayed proof of that key for this
// method and URL. It returns a *TokenError when the token is missing or not
// acceptable, and any other error when the check itself failed.
func (p *Provider) VerifyAccess(r *http.Request) (*Access, error) {
	ctx := r.Context()
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	dpop := strings.EqualFold(scheme, "DPoP")
	bad := func(code, desc string) error { return &TokenError{Code: code, Description: desc, DPoP: dpop} }
	if (!dpop && !strings.EqualFold(scheme, "Bearer")) || raw == "" || len(r.Header.Values("Authorization")) > 1 {
		return nil, bad("invalid_token", "send an access token in the Authorization header with the Bearer or DPoP scheme")
	}
	tenantID := p.issuerTenant(raw)
	if tenantID == "" {
		return nil, bad("invalid_token", "the access token is not valid")
	}
	// The issuer only chooses whose keys to check the signature with; an unknown
	// tenant has none, and must not get signing keys made for it.
	err := p.Store.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetTenant(ctx, tenantID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad("invalid_token", "the access token is not valid")
	}
	if err != nil {
		return nil, err
	}
	var jkt string
	if dpop {
		jkt, err = p.checkDPoP(ctx, tenantID, r.Header, r.Method, strings.TrimRight(p.BaseURL, "/")+r.URL.EscapedPath(), raw)
		var oe *oidc.Error
		if errors.As(err, &oe) && oe.ErrorType == errUseNonce {
			return nil, &TokenError{Code: errUseNonce, Description: oe.Description, DPoP: true, Nonce: p.currentNonce(tenantID)}
		}
		if errors.As(err, &oe) && oe.ErrorType == "invalid_dpop_proof" {
			return nil, bad("invalid_dpop_proof", oe.Description)
		}
		if err != nil {
			return nil, err
		}
		if jkt == "" {
			return nil, bad("invalid_dpop_proof", "the DPoP scheme needs a DPoP proof")
		}
	}
	c, g, err := p.activeAccess(ctx, tenantID, raw)
	if errors.Is(err, errBadToken) {
		return nil, bad("invalid_token", "the access token is not valid")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !c.Audience.Contains(p.Issuer(tenantID)):
		return nil, bad("invalid_token", "the access token is not meant for this server")
	case c.Cnf != nil && c.Cnf.JKT != jkt:
		return nil, bad("invalid_token", "the access token is DPoP-bound: present it with the DPoP scheme and a proof of its key")
	case c.Cnf == nil && dpop:
		return nil, bad("invalid_token", "the access token is not DPoP-bound: present it with the Bearer scheme")
	}
	a := &Access{
		TenantID: tenantID, ClientID: c.ClientID, Subject: c.Subject, Scopes: strings.Fields(c.Scope),
		User: g != nil || c.Subject != c.ClientID, ID: c.ID, Expiry: c.Expiry.Time(), DPoP: c.Cnf != nil,
	}
	if dpop && p.DPoPNonce {
		a.Nonce = p.currentNonce(tenantID)
	}
	return a, nil
}

// issuerTenant returns the tenant named by the unverified iss claim of a JWT, or ""
// when it names none of ours. The signature is checked afterwards against that
// tenant's keys, and activeAccess compares the issuer again once it is verified.
func (p *Provider) issuerTenant(raw string) string {
	if len(raw) > 16<<10 {
		return ""
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return ""
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if tok.UnsafeClaimsWithoutVerification(&c) != nil {
		return ""
	}
	id, ok := strings.CutPrefix(c.Issuer, strings.TrimRight(p.BaseURL, "/")+"/t/")
	if !ok || !tenant.ValidID(id) {
		return ""
	}
	return id
}
