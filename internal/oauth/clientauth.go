package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// maxAssertionLifetime bounds how far ahead a client assertion may expire, which
// bounds how long its jti must be remembered.
const maxAssertionLifetime = time.Hour

// VerifyClient authenticates the client of a token, revocation or introspection
// request by the one method it registered (RFC 6749 §2.3, RFC 7523 §3).
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.p.authenticate(ctx, t.ID, r.Data, r.Header, r.URL.Path)
	if err != nil {
		return nil, err
	}
	return &clientView{c: c}, nil
}

func (p *Provider) authenticate(ctx context.Context, tenantID string, cc *op.ClientCredentials, h http.Header, path string) (*store.Client, error) {
	if cc.ClientAssertion != "" {
		return p.authenticateAssertion(ctx, tenantID, cc, path)
	}
	if cc.ClientID == "" || len(cc.ClientID) > 256 || len(cc.ClientSecret) > 512 {
		return nil, invalidClient("client authentication failed")
	}
	c, err := p.Clients.Get(ctx, tenantID, cc.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidClient("client authentication failed")
	}
	if err != nil {
		return nil, serverError("load client", err)
	}
	basic := len(h.Get("Authorization")) > 6 && strings.EqualFold(h.Get("Authorization")[:6], "basic ")
	switch c.AuthMethod {
	case client.AuthNone:
		if cc.ClientSecret != "" {
			return nil, invalidClient("this client authenticates with none")
		}
		return c, nil
	case client.AuthSecretBasic, client.AuthSecretPost:
		if cc.ClientSecret == "" || basic != (c.AuthMethod == client.AuthSecretBasic) {
			p.auditAuthFailure(ctx, tenantID, cc.ClientID, "wrong authentication method")
			return nil, invalidClient("client authentication failed: use " + c.AuthMethod)
		}
		if _, err := p.Clients.VerifySecret(ctx, tenantID, c.ID, cc.ClientSecret); err != nil {
			if errors.Is(err, client.ErrBadCredentials) {
				p.auditAuthFailure(ctx, tenantID, cc.ClientID, "wrong secret")
				return nil, invalidClient("client authentication failed")
			}
			return nil, serverError("verify client secret", err)
		}
		return c, nil
	default:
		return nil, invalidClient("client authentication failed: use " + c.AuthMethod)
	}
}

// authenticateAssertion checks a private_key_jwt client assertion: signed by one of
// the client's keys, iss and sub the client, aud this server, unexpired, and its jti
// never seen before.
func (p *Provider) authenticateAssertion(ctx context.Context, tenantID string, cc *op.ClientCredentials, path string) (*store.Client, error) {
	if len(cc.ClientAssertion) > 16<<10 {
		return nil, invalidClient("client assertion is too large")
	}
	tok, err := jwt.ParseSigned(cc.ClientAssertion, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256, jose.EdDSA})
	if err != nil {
		return nil, invalidClient("client assertion is not a signed JWT")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return nil, invalidClient("client assertion has no issuer")
	}
	if cc.ClientID != "" && cc.ClientID != unverified.Issuer {
		return nil, invalidClient("client_id does not match the assertion")
	}
	c, err := p.Clients.Get(ctx, tenantID, unverified.Issuer)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidClient("client authentication failed")
	}
	if err != nil {
		return nil, serverError("load client", err)
	}
	if c.AuthMethod != client.AuthPrivateKeyJWT {
		return nil, invalidClient("client authentication failed: use " + c.AuthMethod)
	}
	set, err := client.KeySet(c)
	if err != nil {
		return nil, serverError("client keys", err)
	}
	var claims jwt.Claims
	verified := false
	for _, k := range set.Keys {
		if kid := tok.Headers[0].KeyID; kid != "" && k.KeyID != kid {
			continue
		}
		if tok.Claims(k.Key, &claims) == nil {
			verified = true
			break
		}
	}
	if !verified {
		p.auditAuthFailure(ctx, tenantID, c.ID, "bad assertion signature")
		return nil, invalidClient("client assertion signature is not valid")
	}
	now := p.Now()
	iss := p.Issuer(tenantID)
	err = claims.ValidateWithLeeway(jwt.Expected{Issuer: c.ID, Subject: c.ID, Time: now}, 30*time.Second)
	if err == nil && !(claims.Audience.Contains(iss) || claims.Audience.Contains(iss+pathToken) ||
		claims.Audience.Contains(p.BaseURL+path)) {
		err = errors.New("wrong audience")
	}
	if err == nil && (claims.ID == "" || claims.Expiry == nil || claims.Expiry.Time().After(now.Add(maxAssertionLifetime))) {
		err = errors.New("jti missing or expiry too far")
	}
	if err != nil {
		p.auditAuthFailure(ctx, tenantID, c.ID, "assertion claims: "+err.Error())
		return nil, invalidClient("client assertion claims are not valid (iss, sub, aud, exp, jti)")
	}
	// The jti is remembered until the assertion expires: a replay within that time
	// collides with it, on any node.
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.PutArtifact(ctx, &store.Artifact{Hash: secret.Hash(c.ID + "\x00" + claims.ID), Kind: kindAssertion,
			TenantID: tenantID, Subject: c.ID, CreatedAt: now, ExpiresAt: claims.Expiry.Time().Add(time.Minute)})
	})
	if errors.Is(err, store.ErrConflict) {
		p.auditAuthFailure(ctx, tenantID, c.ID, "assertion replayed")
		return nil, invalidClient("client assertion was already used")
	}
	if err != nil {
		return nil, serverError("store assertion id", err)
	}
	return c, nil
}

func (p *Provider) auditAuthFailure(ctx context.Context, tenantID, clientID, why string) {
	err := p.Store.InTx(ctx, func(tx store.Tx) error {
		return audit.Record(ctx, tx, p.Now(), clientMeta(ctx, clientID), audit.Entry{Type: EventClientAuthFail,
			TenantID: tenantID, TargetType: "client", TargetID: clientID, Result: audit.Failure, Severity: audit.Low,
			Details: map[string]string{"reason": why}})
	})
	if err != nil && p.Logger != nil {
		p.Logger.ErrorContext(ctx, "audit client authentication failure", "error", err)
	}
}

func clientMeta(ctx context.Context, clientID string) audit.Meta {
	m := audit.Meta{ActorType: audit.ActorClient, ActorID: clientID}
	if ip := web.ClientIP(ctx); ip.IsValid() {
		m.IP = ip.String()
	}
	return m
}
