package oauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// server implements op.Server: zitadel/oidc parses and routes each request, then
// calls these methods with the tenant on the context.
type server struct {
	op.UnimplementedServer
	p *Provider
}

// errInternal is what a client sees when something failed on our side; the cause is
// logged, never sent.
func serverError(what string, err error) error {
	return oidc.ErrServerError().WithDescription("internal error").WithParent(errors.Join(errors.New(what), err))
}

func (s *server) tenant(ctx context.Context) (*store.Tenant, error) {
	t, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, op.NewStatusError(oidc.ErrInvalidRequest().WithDescription("unknown tenant"), http.StatusNotFound)
	}
	return t, nil
}

func (s *server) policy(ctx context.Context, tenantID string) (tenant.Policy, error) {
	p, err := tenant.CurrentPolicyOf(ctx, s.p.Store, tenantID)
	if err != nil {
		return p, serverError("load tenant policy", err)
	}
	return p, nil
}

// invalidClient answers 401, as RFC 6749 §5.2 asks when client authentication failed.
func invalidClient(desc string) error {
	return op.NewStatusError(oidc.ErrInvalidClient().WithDescription("%s", desc), http.StatusUnauthorized)
}

func invalidGrant(desc string) error {
	return oidc.ErrInvalidGrant().WithDescription("%s", desc)
}

// maxParam bounds identifiers and tokens a client sends; anything longer is refused
// before it reaches the database.
const maxParam = 4096

// clientView adapts a stored client to zitadel/oidc's op.Client. Gatehouse makes the
// decisions that matter itself (redirect matching, scopes, grants), so the adapter
// only reports them.
type clientView struct {
	c *store.Client
	// redirect is the redirect URI client.AllowsRedirect already accepted for this
	// request, the only one the engine needs to know.
	redirect string
	// responseType is the authorization request's response_type.
	responseType oidc.ResponseType
	// auth is how VerifyClient authenticated a token endpoint request's client.
	auth *clientAuth
}

var _ op.Client = (*clientView)(nil)

func (v *clientView) GetID() string                    { return v.c.ID }
func (v *clientView) PostLogoutRedirectURIs() []string { return v.c.PostLogoutRedirectURIs }
func (v *clientView) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (v *clientView) RedirectURIs() []string {
	if v.redirect != "" {
		return []string{v.redirect}
	}
	return nil
}

func (v *clientView) AuthMethod() oidc.AuthMethod { return oidc.AuthMethod(v.c.AuthMethod) }

// ResponseTypes echoes the requested response type, so that the engine passes it on
// and Authorize answers anything but code with unsupported_response_type (RFC 6749
// §4.1.2.1) instead of the engine's unauthorized_client.
func (v *clientView) ResponseTypes() []oidc.ResponseType {
	if v.responseType != "" {
		return []oidc.ResponseType{v.responseType}
	}
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (v *clientView) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(v.c.GrantTypes))
	for _, g := range v.c.GrantTypes {
		out = append(out, oidc.GrantType(g))
	}
	return out
}
func (v *clientView) LoginURL(string) string               { return "" }
func (v *clientView) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (v *clientView) IDTokenLifetime() time.Duration       { return IDTokenLifetime }
func (v *clientView) IDTokenUserinfoClaimsAssertion() bool { return false }
func (v *clientView) ClockSkew() time.Duration             { return 0 }
func (v *clientView) IsScopeAllowed(scope string) bool     { return allowedScope(v.c, scope) }

// DevMode is true because the engine's scheme rules for redirect URIs must not
// override client.AllowsRedirect, which already matched the URI exactly (with RFC
// 8252 loopback ports for native clients) before the engine sees it.
func (v *clientView) DevMode() bool { return true }

func (v *clientView) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (v *clientView) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// allowedScope reports whether the client may ask for scope.
func allowedScope(c *store.Client, scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return scope == "offline_access" && client.AllowsGrant(c, client.GrantRefreshToken) && containsScope(c.Scopes, "openid")
}

func containsScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}
