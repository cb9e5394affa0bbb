package oauth

import (
	"bytes"
	"context"
	"crypto/subtle"
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
// request by the one method it registered (RFC 6749 §2.3, RFC 7523 §3). Token
// requests of the grants that record their issuance through issue may be
// authenticated against the cached client (see cache.go); everything else reads it.
func (s *server) VerifyClient(ctx context.Context, r *op.Request[op.ClientCredentials]) (op.Client, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	grant := r.Form.Get("grant_type")
	useCache := strings.HasSuffix(r.URL.Path, pathToken) && cachedGrant(grant)
	c, cached, err := s.p.authenticateWith(ctx, t.ID, r.Data, r.Header, r.URL.Path, useCache)
	if err == nil && cached && !client.AllowsGrant(c, grant) {
		// The engine refuses a grant the client lacks: decide that on fresh data.
		c, cached, err = s.p.authenticateWith(ctx, t.ID, r.Data, r.Header, r.URL.Path, false)
	}
	if err != nil {
		return nil, err
	}
	return &clientView{c: c, auth: &clientAuth{cc: r.Data, header: r.Header, path: r.URL.Path, cached: cached}}, nil
}

// cachedGrant reports whether a grant's token requests record their issuance
// through issue, which checks a cached client before answering.
func cachedGrant(grant string) bool {
	switch grant {
	case client.GrantAuthorizationCode, client.GrantRefreshToken, client.GrantClientCredentials:
		return true
	}
	return false
}

// clientAuth is how VerifyClient authenticated a request's client, kept so that the
// request can authenticate it again on fresh data.
type clientAuth struct {
	cc     *op.ClientCredentials
	header http.Header
	path   string
	cached bool // the client record came from the cache
}

func (p *Provider) authenticate(ctx context.Context, tenantID string, cc *op.ClientCredentials, h http.Header, path string) (*store.Client, error) {
	c, _, err := p.authenticateWith(ctx, tenantID, cc, h, path, false)
	return c, err
}

// reauthenticate authenticates the client of v again on a fresh read. A client
// assertion cannot be presented twice (its jti is spent), so a client that used one
// must still hold the same registration.
func (p *Provider) reauthenticate(ctx context.Context, tenantID string, v *clientView) (*store.Client, error) {
	if v.auth != nil && v.auth.cc.ClientAssertion == "" {
		c, _, err := p.authenticateWith(ctx, tenantID, v.auth.cc, v.auth.header, v.auth.path, false)
		return c, err
	}
	c, err := p.Clients.Get(ctx, tenantID, v.c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidClient("client authentication failed")
	}
	if err != nil {
		return nil, serverError("load client", err)
	}
	if c.AuthMethod != v.c.AuthMethod || c.SecretHash != v.c.SecretHash || !bytes.Equal(c.JWKS, v.c.JWKS) {
		return nil, invalidClient("the client's credentials changed during the request: try again")
	}
	return c, nil
}

// authenticateWith authenticates the client, against the cached record when
// useCache is set and it has one that accepts the request; it reports whether it
// did. A request the cached record does not accept is decided on a fresh read, so
// only that read's answer is ever a refusal or an audited failure.
func (p *Provider) authenticateWith(ctx context.Context, tenantID string, cc *op.ClientCredentials, h http.Header,
	path string, useCache bool) (*store.Client, bool, error) {
	if cc.ClientAssertion != "" {
		c, err := p.authenticateAssertion(ctx, tenantID, cc, path)
		return c, false, err
	}
	if cc.ClientID == "" || len(cc.ClientID) > 256 || len(cc.ClientSecret) > 512 {
		return nil, false, invalidClient("client authentication failed")
	}
	basic := len(h.Get("Authorization")) > 6 && strings.EqualFold(h.Get("Authorization")[:6], "basic ")
	if useCache {
		if c := p.cache.client(tenantID, cc.ClientID, p.Now()); c != nil && secretAccepted(c, cc.ClientSecret, basic) == nil {
			return c, true, nil
		}
	}
	c, err := p.Clients.Get(ctx, tenantID, cc.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, invalidClient("client authentication failed")
	}
	if err != nil {
		return nil, false, serverError("load client", err)
	}
	if err := secretAccepted(c, cc.ClientSecret, basic); err != nil {
		if why := (*authFailure)(nil); errors.As(err, &why) && why.audit != "" {
			p.auditAuthFailure(ctx, tenantID, cc.ClientID, why.audit)
		}
		return nil, false, err
	}
	p.cache.putClient(c, p.Now())
	return c, false, nil
}

// authFailure is a refused client authentication and what to audit of it ("" for
// nothing).
type authFailure struct {
	err   error
	audit string
}

func (f *authFailure) Error() string { return f.err.Error() }
func (f *authFailure) Unwrap() error { return f.err }

// secretAccepted checks a secret-less or secret-authenticated request against the
// client record c. The secret is compared by its SHA-256 in constant time, as
// client.VerifySecret does: secrets are 256-bit random, so a fast hash suffices.
func secretAccepted(c *store.Client, plain string, basic bool) error {
	switch c.AuthMethod {
	case client.AuthNone:
		if plain != "" {
			return invalidClient("this client authenticates with none")
		}
		return nil
	case client.AuthSecretBasic, client.AuthSecretPost:
		if plain == "" || basic != (c.AuthMethod == client.AuthSecretBasic) {
			return &authFailure{err: invalidClient("client authentication failed: use " + c.AuthMethod), audit: "wrong authentication method"}
		}
		if c.SecretHash == "" || subtle.ConstantTimeCompare([]byte(secret.Hash(plain)), []byte(c.SecretHash)) != 1 {
			return &authFailure{err: invalidClient("client authentication failed"), audit: "wrong secret"}
		}
		return nil
	default:
		return invalidClient("client authentication failed: use " + c.AuthMethod)
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
		return audit.Record(ctx, tx, p.Now(), clientMeta(ctx, clientID), audit.Entry{Type: audit.OAuthClientAuthFail,
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

// basicChallenge adds the challenge RFC 6749 §5.2 requires to a 401 answering a
// request whose client authenticated with HTTP Basic (token, introspection and
// revocation endpoints): the scheme the client used.
func basicChallenge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if len(auth) < 6 || !strings.EqualFold(auth[:6], "basic ") {
			next.ServeHTTP(w, r)
			return
		}
		realm := ""
		if t := tenantOf(r); t != nil {
			realm = t.ID
		}
		next.ServeHTTP(&basicChallengeWriter{ResponseWriter: w, realm: realm}, r)
	})
}

type basicChallengeWriter struct {
	http.ResponseWriter
	realm string // a tenant id: no quotes or backslashes to escape
}

func (b *basicChallengeWriter) WriteHeader(status int) {
	if status == http.StatusUnauthorized {
		b.Header().Set("WWW-Authenticate", `Basic realm="`+b.realm+`"`)
	}
	b.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (b *basicChallengeWriter) Unwrap() http.ResponseWriter { return b.ResponseWriter }
