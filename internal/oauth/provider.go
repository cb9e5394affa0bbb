// Package oauth is Gatehouse's OAuth 2.0 authorization server and OpenID Provider:
// per-tenant discovery and JWKS, the authorization endpoint with its sign-in and
// consent steps, the token endpoint (authorization_code with PKCE, rotated
// refresh_token, client_credentials), userinfo, introspection, revocation and
// RP-initiated logout. zitadel/oidc's op package parses and routes the protocol
// requests; every decision, record and token is made here.
package oauth

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/device"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// Lifetimes of what the provider issues.
const (
	// CodeLifetime bounds an authorization code: it only has to cross one redirect.
	CodeLifetime = 60 * time.Second
	// RequestLifetime bounds a pending authorization request, sign-in included.
	RequestLifetime = 15 * time.Minute
	// AccessTokenLifetime and IDTokenLifetime stay short: a JWT cannot be recalled
	// from a resource server that does not introspect.
	AccessTokenLifetime = 10 * time.Minute
	IDTokenLifetime     = 10 * time.Minute
	// RefreshTokenLifetime is how long one refresh token stays usable unrotated.
	RefreshTokenLifetime = 14 * 24 * time.Hour
	// GrantLifetime is the absolute end of a token family; rotation never extends it.
	GrantLifetime = 30 * 24 * time.Hour
)

// Artifact kinds this package stores.
const (
	kindRequest   = "oauth_request"
	kindCode      = "oauth_code"
	kindAssertion = "oauth_client_assertion"
	kindPushed    = "oauth_pushed_request"
)

// Endpoint paths below the tenant's issuer.
const (
	pathAuthorize  = "/oauth2/authorize"
	pathResume     = "/oauth2/authorize/resume"
	pathConsent    = "/oauth2/authorize/consent"
	pathToken      = "/oauth2/token"
	pathUserinfo   = "/oauth2/userinfo"
	pathIntrospect = "/oauth2/introspect"
	pathRevoke     = "/oauth2/revoke"
	pathLogout     = "/oauth2/logout"
	pathPAR        = "/oauth2/par"
	pathJWKS       = "/jwks.json"
	pathDiscovery  = "/.well-known/openid-configuration"
)

//go:embed pages/*.html
var pageFiles embed.FS

// Pages returns the provider's page templates, for the shared renderer.
func Pages() fs.FS {
	sub, err := fs.Sub(pageFiles, "pages")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	return sub
}

// CSRFBypass lists the routes that other origins legitimately call: the endpoints
// clients call directly (authenticated by client credentials or bearer tokens, not
// cookies) and the authorization and logout endpoints, which relying parties may
// reach with a cross-site form POST. None of them acts on the cookie alone.
func CSRFBypass() []string {
	var out []string
	for _, p := range []string{pathAuthorize, pathToken, pathUserinfo, pathIntrospect, pathRevoke, pathLogout, pathPAR} {
		out = append(out, "POST /t/{tenant}"+p)
	}
	out = append(out, deviceCSRFBypass())
	return out
}

// Provider serves every tenant's OAuth 2.0 and OpenID Connect endpoints.
type Provider struct {
	Store    store.Store
	Now      func() time.Time
	Logger   *slog.Logger
	BaseURL  string // issuer of tenant t: BaseURL + "/t/" + t
	Keys     *keys.KeyManager
	Clients  *client.Service
	Sessions *session.Manager
	Renderer *web.Renderer
	// InTenant resolves {tenant} and puts the tenant on the context.
	InTenant func(http.Handler) http.Handler
	Metrics  *Metrics
	// DPoPNonce makes the token and userinfo endpoints require DPoP proofs to carry
	// a nonce this server issued (RFC 9449 §8, §9); see nonce.go.
	DPoPNonce bool
	// NonceKey makes and checks DPoP nonces; every node needs the same key.
	NonceKey []byte
	// Device runs the device authorization grant (RFC 8628); nil leaves it off.
	Device *device.Service

	cache   issueCache // see cache.go
	commits committer  // see cache_commit.go
}

// Mount adds the provider's routes to mux.
func (p *Provider) Mount(mux *http.ServeMux) {
	engine := op.RegisterServer(&server{p: p}, op.Endpoints{
		Authorization:       op.NewEndpoint(strings.TrimPrefix(pathAuthorize, "/")),
		Token:               op.NewEndpoint(strings.TrimPrefix(pathToken, "/")),
		Introspection:       op.NewEndpoint(strings.TrimPrefix(pathIntrospect, "/")),
		Userinfo:            op.NewEndpoint(strings.TrimPrefix(pathUserinfo, "/")),
		Revocation:          op.NewEndpoint(strings.TrimPrefix(pathRevoke, "/")),
		JwksURI:             op.NewEndpoint(strings.TrimPrefix(pathJWKS, "/")),
		DeviceAuthorization: op.NewEndpoint(strings.TrimPrefix(pathDeviceAuthorization, "/")),
	}, op.WithTenantPrefix("/t"), op.WithServerCORSOptions(&cors.Options{
		// Browser apps on other origins call the token, userinfo, introspection and
		// revocation endpoints. Nothing there rests on cookies, so credentials are
		// never allowed; the DPoP header must be.
		AllowOriginFunc:  func(string) bool { return true },
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "DPoP"},
		ExposedHeaders:   []string{"WWW-Authenticate", "DPoP-Nonce"},
		AllowCredentials: false,
	}))
	protocol := p.InTenant(p.dpopNonces(basicChallenge(engine)))
	for _, pattern := range []string{
		"GET /t/{tenant}" + pathDiscovery,
		"GET /t/{tenant}" + pathJWKS,
		"POST /t/{tenant}" + pathToken,
		"POST /t/{tenant}" + pathIntrospect,
		"POST /t/{tenant}" + pathRevoke,
		"POST /t/{tenant}" + pathDeviceAuthorization,
		// A browser asks before it sends the DPoP or Authorization header across
		// origins; the engine's CORS handler answers that preflight.
		"OPTIONS /t/{tenant}" + pathToken,
		"OPTIONS /t/{tenant}" + pathIntrospect,
		"OPTIONS /t/{tenant}" + pathRevoke,
	} {
		mux.Handle(pattern, protocol)
	}
	userinfo := p.InTenant(p.dpopNonces(p.dpopResource(bearerChallenge(engine))))
	mux.Handle("GET /t/{tenant}"+pathUserinfo, userinfo)
	mux.Handle("POST /t/{tenant}"+pathUserinfo, userinfo)
	mux.Handle("OPTIONS /t/{tenant}"+pathUserinfo, userinfo)
	// The authorization endpoint checks the client and redirect URI first, so a bad
	// one gets a page and never a redirect to where it points.
	authorize := p.InTenant(p.checkRedirect(engine))
	mux.Handle("GET /t/{tenant}"+pathAuthorize, authorize)
	mux.Handle("POST /t/{tenant}"+pathAuthorize, authorize)
	for pattern, fn := range map[string]http.HandlerFunc{
		"GET /t/{tenant}" + pathResume:                  p.resume,
		"POST /t/{tenant}" + pathPAR:                    p.pushRequest,
		"POST /t/{tenant}" + pathConsent:                p.consent,
		"GET /t/{tenant}" + pathLogout:                  p.logout,
		"POST /t/{tenant}" + pathLogout:                 p.logout,
		"POST /t/{tenant}" + pathLogout + "/confirm":    p.logoutConfirm,
		"GET /t/{tenant}/account/apps":                  p.appsPage,
		"POST /t/{tenant}/account/apps/{client}/revoke": p.revokeApp,
	} {
		mux.Handle(pattern, p.InTenant(fn))
	}
}

// Issuer returns the issuer identifier of the tenant.
func (p *Provider) Issuer(tenantID string) string {
	return strings.TrimRight(p.BaseURL, "/") + "/t/" + tenantID
}

func tenantOf(r *http.Request) *store.Tenant {
	t, _ := tenant.FromContext(r.Context())
	return t
}

func (p *Provider) logError(r *http.Request, msg string, err error) {
	if p.Logger != nil {
		p.Logger.ErrorContext(r.Context(), msg, "error", err, "request_id", web.RequestID(r.Context()))
	}
}

// fail shows a page with a sentence for a browser request that cannot go on.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	if err != nil && status >= 500 {
		p.logError(r, msg, err)
	}
	web.Fail(w, r, p.Renderer, &web.Error{Status: status, Message: msg, Err: err})
}

// bearerChallenge adds the WWW-Authenticate challenge RFC 6750 §3 requires when a
// protected resource (userinfo) refuses a request for want of a valid token.
func bearerChallenge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, dpop := r.Context().Value(dpopKey{}).(string)
		next.ServeHTTP(&challengeWriter{ResponseWriter: w, dpop: dpop}, r)
	})
}

type challengeWriter struct {
	http.ResponseWriter
	dpop bool // the request used the DPoP scheme
}

func (c *challengeWriter) WriteHeader(status int) {
	scheme := "Bearer"
	if c.dpop {
		scheme = "DPoP"
	}
	switch status {
	case http.StatusUnauthorized:
		c.Header().Set("WWW-Authenticate", scheme+` error="invalid_token"`)
	case http.StatusForbidden:
		c.Header().Set("WWW-Authenticate", scheme+` error="insufficient_scope", scope="openid"`)
	}
	c.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *challengeWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
