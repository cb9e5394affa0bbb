package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// PARLifetime is how long a pushed request_uri stays usable (RFC 9126 §2.2 suggests
// a short time: it only has to cross one redirect).
const PARLifetime = 60 * time.Second

// requestURIPrefix starts every request_uri the PAR endpoint hands out (RFC 9126 §2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// pushRequest is the pushed authorization request endpoint (RFC 9126 §2): the client
// authenticates as at the token endpoint and posts the authorization parameters;
// they are checked now and stored under a one-time request_uri.
func (p *Provider) pushRequest(w http.ResponseWriter, r *http.Request) {
	t, ctx := tenantOf(r), r.Context()
	if err := web.ParseForm(w, r); err != nil {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("the request body could not be read"), nil)
		return
	}
	form := r.PostForm
	cc, err := credentialsOf(r, form)
	if err != nil {
		op.WriteError(w, r, err, nil)
		return
	}
	c, err := p.authenticate(ctx, t.ID, cc, r.Header, r.URL.Path)
	if err != nil {
		op.WriteError(w, r, err, nil)
		return
	}
	if form.Get("request_uri") != "" {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("request_uri must not be pushed"), nil)
		return
	}
	if id := form.Get("client_id"); id != "" && id != c.ID {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("client_id does not match the authenticated client"), nil)
		return
	}
	req, err := authRequestOf(form)
	if err != nil {
		op.WriteError(w, r, err, nil)
		return
	}
	req.ClientID = c.ID
	if req.RedirectURI == "" || len(req.RedirectURI) > maxParam || !client.AllowsRedirect(c, req.RedirectURI) {
		op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("redirect_uri is missing or not registered for this client"), nil)
		return
	}
	pd, err := p.checkRequest(ctx, t.ID, c, req, form)
	if err != nil {
		op.WriteError(w, r, err, nil)
		return
	}
	data, err := json.Marshal(pd)
	if err != nil {
		op.WriteError(w, r, serverError("encode pushed request", err), nil)
		return
	}
	id := secret.Token(32)
	now := p.Now()
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.PutArtifact(ctx, &store.Artifact{Hash: secret.Hash(id), Kind: kindPushed, TenantID: t.ID,
			Subject: c.ID, Data: data, CreatedAt: now, ExpiresAt: now.Add(PARLifetime)})
	})
	if err != nil {
		op.WriteError(w, r, serverError("store pushed request", err), nil)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	web.WriteJSON(w, http.StatusCreated, map[string]any{"request_uri": requestURIPrefix + id, "expires_in": int(PARLifetime / time.Second)})
}

// authorizePushed answers an authorization request that carries a request_uri: the
// pushed request is used up and continues like any other.
func (p *Provider) authorizePushed(w http.ResponseWriter, r *http.Request, c *store.Client) {
	t, ctx := tenantOf(r), r.Context()
	id, ok := strings.CutPrefix(r.Form.Get("request_uri"), requestURIPrefix)
	if !ok || id == "" || len(id) > 128 {
		p.fail(w, r, http.StatusBadRequest, "The application's sign-in request is not valid. Go back to it and start again.", nil)
		return
	}
	var a *store.Artifact
	err := p.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = tx.RedeemArtifact(ctx, kindPushed, secret.Hash(id), p.Now())
		return err
	})
	// Expired, used, unknown, another tenant's or another client's: one answer, on a
	// page, since no redirect URI of this request has been verified.
	if errors.Is(err, store.ErrNotFound) || (err == nil && (a.TenantID != t.ID || a.Subject != c.ID)) {
		p.fail(w, r, http.StatusBadRequest, "This sign-in request has expired or was already used. Go back to the application and start again.", nil)
		return
	}
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	var pd pending
	if err := json.Unmarshal(a.Data, &pd); err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	pd.Created = store.Micro(p.Now())
	rid, err := p.putRequest(ctx, t.ID, &pd)
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	http.Redirect(w, r, p.Issuer(t.ID)+pathResume+"?id="+url.QueryEscape(rid), http.StatusFound)
}

// credentialsOf reads client credentials as the token endpoint does: HTTP Basic, or
// client_id/client_secret in the body, or a client assertion — never two at once
// (RFC 6749 §2.3).
func credentialsOf(r *http.Request, form url.Values) (*op.ClientCredentials, error) {
	cc := &op.ClientCredentials{ClientID: form.Get("client_id"), ClientSecret: form.Get("client_secret"),
		ClientAssertion: form.Get("client_assertion"), ClientAssertionType: form.Get("client_assertion_type")}
	if cc.ClientAssertion != "" && cc.ClientAssertionType != oidc.ClientAssertionTypeJWTAssertion {
		return nil, oidc.ErrInvalidRequest().WithDescription("unsupported client_assertion_type")
	}
	if id, pw, ok := r.BasicAuth(); ok {
		if cc.ClientSecret != "" || cc.ClientAssertion != "" {
			return nil, oidc.ErrInvalidRequest().WithDescription("client authentication must not use more than one method")
		}
		var err1, err2 error
		cc.ClientID, err1 = url.QueryUnescape(id)
		cc.ClientSecret, err2 = url.QueryUnescape(pw)
		if err1 != nil || err2 != nil {
			return nil, invalidClient("malformed basic authentication")
		}
	} else if cc.ClientSecret != "" && cc.ClientAssertion != "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("client authentication must not use more than one method")
	}
	if cc.ClientID == "" && cc.ClientAssertion == "" {
		return nil, invalidClient("client authentication is missing")
	}
	return cc, nil
}

// authRequestOf reads authorization parameters from a pushed request body.
func authRequestOf(form url.Values) (*oidc.AuthRequest, error) {
	req := &oidc.AuthRequest{
		Scopes: strings.Fields(form.Get("scope")), ResponseType: oidc.ResponseType(form.Get("response_type")),
		RedirectURI: form.Get("redirect_uri"), State: form.Get("state"), Nonce: form.Get("nonce"),
		ResponseMode: oidc.ResponseMode(form.Get("response_mode")), Prompt: strings.Fields(form.Get("prompt")),
		LoginHint: form.Get("login_hint"), ACRValues: strings.Fields(form.Get("acr_values")),
		CodeChallenge: form.Get("code_challenge"), CodeChallengeMethod: oidc.CodeChallengeMethod(form.Get("code_challenge_method")),
		RequestParam: form.Get("request"),
	}
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, oidc.ErrInvalidRequest().WithDescription("max_age must be a number of seconds")
		}
		m := uint(n)
		req.MaxAge = &m
	}
	return req, nil
}
