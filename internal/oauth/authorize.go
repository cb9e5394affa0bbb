package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// pending is an authorization request waiting for sign-in and consent. It is stored
// as a single-use artifact; the browser only carries its random id.
type pending struct {
	ClientID           string    `json:"client_id"`
	RedirectURI        string    `json:"redirect_uri"`
	Scopes             []string  `json:"scopes"`
	State              string    `json:"state,omitempty"`
	Nonce              string    `json:"nonce,omitempty"`
	ResponseMode       string    `json:"response_mode,omitempty"`
	CodeChallenge      string    `json:"code_challenge,omitempty"`
	Prompt             []string  `json:"prompt,omitempty"`
	MaxAge             *int64    `json:"max_age,omitempty"` // seconds
	LoginHint          string    `json:"login_hint,omitempty"`
	RequirePhishingRes bool      `json:"require_phr,omitempty"`
	Created            time.Time `json:"created"`
}

// granted is what an authorization code stands for.
type granted struct {
	pending
	UserID    string    `json:"user_id"`
	SessionID string    `json:"session_id"`
	AuthTime  time.Time `json:"auth_time"`
	ACR       string    `json:"acr"`
	AMR       []string  `json:"amr"`
}

func (p *pending) has(prompt string) bool { return containsScope(p.Prompt, prompt) }

// checkRedirect refuses, with a page, an authorization request whose client is
// unknown or whose redirect URI is not one of the client's: redirecting there would
// make Gatehouse an open redirector (RFC 6749 §4.1.2.1).
func (p *Provider) checkRedirect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			p.fail(w, r, http.StatusBadRequest, "The authorization request could not be read.", err)
			return
		}
		clientID, redirect := r.Form.Get("client_id"), r.Form.Get("redirect_uri")
		if clientID == "" || len(clientID) > maxParam {
			p.fail(w, r, http.StatusBadRequest, "The application did not identify itself correctly (client_id is missing or invalid).", nil)
			return
		}
		c, err := p.Clients.Get(r.Context(), tenantOf(r).ID, clientID)
		if errors.Is(err, store.ErrNotFound) {
			p.fail(w, r, http.StatusBadRequest, "The application that sent you here is not known to this sign-in service.", nil)
			return
		}
		if err != nil {
			p.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side.", err)
			return
		}
		if r.Form.Has("request_uri") {
			p.authorizePushed(w, r, c)
			return
		}
		if redirect == "" || len(redirect) > maxParam || !client.AllowsRedirect(c, redirect) {
			p.fail(w, r, http.StatusBadRequest, "The application asked to send you to an address it has not registered, so we stopped here.", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.p.Clients.Get(ctx, t.ID, r.Data.ClientID)
	if err != nil || !client.AllowsRedirect(c, r.Data.RedirectURI) {
		// checkRedirect answered these with a page already; this is the backstop.
		return nil, oidc.ErrInvalidRequestRedirectURI().WithDescription("unknown client or unregistered redirect_uri")
	}
	return &op.ClientRequest[oidc.AuthRequest]{Request: r, Client: &clientView{c: c, redirect: r.Data.RedirectURI, responseType: r.Data.ResponseType}}, nil
}

// Authorize checks what the engine left to us, stores the request and sends the
// browser on to sign-in and consent. Errors returned here reach the client's
// (verified) redirect URI.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	c := r.Client.(*clientView).c
	if c.RequirePAR {
		// The client registered require_pushed_authorization_requests: a request
		// that did not come through the PAR endpoint is refused (RFC 9126 §6).
		return nil, oidc.ErrInvalidRequest().WithDescription("this client must use pushed authorization requests")
	}
	pd, err := s.p.checkRequest(ctx, t.ID, c, r.Data, r.Form)
	if err != nil {
		return nil, err
	}
	id, err := s.p.putRequest(ctx, t.ID, pd)
	if err != nil {
		return nil, serverError("store authorization request", err)
	}
	return op.NewRedirect(s.p.Issuer(t.ID) + pathResume + "?id=" + url.QueryEscape(id)), nil
}

// checkRequest validates an authorization request of client c whose redirect URI
// was already matched, from the front channel or pushed (RFC 9126), and returns it
// ready to store. Its errors are OAuth errors for the client.
func (p *Provider) checkRequest(ctx context.Context, tenantID string, c *store.Client, req *oidc.AuthRequest, form url.Values) (*pending, error) {
	pol, err := tenant.CurrentPolicyOf(ctx, p.Store, tenantID)
	if err != nil {
		return nil, serverError("load tenant policy", err)
	}
	switch {
	case !pol.Flows.AuthorizationCode:
		return nil, oidc.ErrAccessDenied().WithDescription("the authorization code flow is turned off for this tenant")
	case !client.AllowsGrant(c, client.GrantAuthorizationCode):
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this client may not use the authorization code flow")
	case req.ResponseType != oidc.ResponseTypeCode:
		return nil, &oidc.Error{ErrorType: "unsupported_response_type", Description: "only response_type code is supported"}
	case req.RequestParam != "":
		return nil, oidc.ErrRequestNotSupported().WithDescription("request objects are not supported")
	case form.Get("request_uri") != "":
		return nil, &oidc.Error{ErrorType: "request_uri_not_supported", Description: "request_uri is only accepted from the pushed authorization request endpoint"}
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery && req.ResponseMode != oidc.ResponseModeFormPost:
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query or form_post")
	}
	if err := checkPKCE(c, req.CodeChallenge, string(req.CodeChallengeMethod)); err != nil {
		return nil, err
	}
	var scopes []string
	for _, sc := range req.Scopes {
		if allowedScope(c, sc) && !containsScope(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		return nil, oidc.ErrInvalidScope().WithDescription("none of the requested scopes is allowed for this client")
	}
	for _, pr := range req.Prompt {
		if pr != oidc.PromptNone && pr != oidc.PromptLogin && pr != oidc.PromptConsent {
			return nil, oidc.ErrInvalidRequest().WithDescription("unsupported prompt value")
		}
		if pr == oidc.PromptNone && len(req.Prompt) > 1 {
			return nil, oidc.ErrInvalidRequest().WithDescription("prompt=none must stand alone")
		}
	}
	if len(req.State) > maxParam || len(req.Nonce) > maxParam || len(req.LoginHint) > 512 {
		return nil, oidc.ErrInvalidRequest().WithDescription("state, nonce or login_hint is too long")
	}
	pd := &pending{
		ClientID: c.ID, RedirectURI: req.RedirectURI, Scopes: scopes, State: req.State, Nonce: req.Nonce,
		ResponseMode: string(req.ResponseMode), CodeChallenge: req.CodeChallenge, Prompt: req.Prompt,
		LoginHint: req.LoginHint, RequirePhishingRes: containsScope(req.ACRValues, session.ACRPhishingResistant),
		Created: store.Micro(p.Now()),
	}
	// max_age=0 means "sign in again now", as prompt=login does (OpenID Connect Core
	// §3.1.2.1); the engine also turns prompt=login into max_age=0. Both are kept as
	// prompt=login, checked against when the request arrived, or no sign-in could
	// ever be recent enough.
	if req.MaxAge != nil && *req.MaxAge == 0 {
		if !pd.has(oidc.PromptLogin) {
			pd.Prompt = append(pd.Prompt, oidc.PromptLogin)
		}
	} else if req.MaxAge != nil {
		v := int64(*req.MaxAge)
		pd.MaxAge = &v
	}
	return pd, nil
}

// checkPKCE enforces RFC 7636 with S256 only: plain would let whoever reads the
// authorization request redeem the code (RFC 9700 §2.1.1).
func checkPKCE(c *store.Client, challenge, method string) error {
	if challenge == "" {
		if method != "" {
			return oidc.ErrInvalidRequest().WithDescription("code_challenge_method without code_challenge")
		}
		if client.RequiresPKCE(c) {
			return oidc.ErrInvalidRequest().WithDescription("this client must use PKCE with code_challenge_method S256")
		}
		return nil
	}
	if method != "S256" {
		return oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if len(challenge) != 43 || strings.Trim(challenge, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return oidc.ErrInvalidRequest().WithDescription("code_challenge must be a base64url SHA-256 digest")
	}
	return nil
}

func (p *Provider) putRequest(ctx context.Context, tenantID string, pd *pending) (string, error) {
	data, err := json.Marshal(pd)
	if err != nil {
		return "", err
	}
	id := secret.Token(32)
	now := p.Now()
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.PutArtifact(ctx, &store.Artifact{Hash: secret.Hash(id), Kind: kindRequest, TenantID: tenantID,
			Subject: pd.ClientID, Data: data, CreatedAt: now, ExpiresAt: now.Add(RequestLifetime)})
	})
	return id, err
}

// loadRequest reads a pending request without using it up: the browser may pass
// through sign-in and consent before the request is answered.
func (p *Provider) loadRequest(ctx context.Context, tenantID, id string) (*pending, error) {
	if id == "" || len(id) > 128 {
		return nil, store.ErrNotFound
	}
	var a *store.Artifact
	err := p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		a, err = tx.PeekArtifact(ctx, kindRequest, secret.Hash(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.TenantID != tenantID || !a.RedeemedAt.IsZero() || !p.Now().Before(a.ExpiresAt) {
		return nil, store.ErrNotFound
	}
	var pd pending
	if err := json.Unmarshal(a.Data, &pd); err != nil {
		return nil, err
	}
	return &pd, nil
}
