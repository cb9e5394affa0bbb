package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// resume continues a stored authorization request: it sends the browser to sign in
// when it must, asks for consent when it must, and answers the client.
func (p *Provider) resume(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	id := r.URL.Query().Get("id")
	pd, err := p.loadRequest(r.Context(), t.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		p.fail(w, r, http.StatusBadRequest, "This sign-in request has expired or was already used. Go back to the application and start again.", nil)
		return
	}
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	p.continueRequest(w, r, id, pd, false)
}

// continueRequest decides the next step of a request; consented is true when the
// person has just approved it on the consent page.
func (p *Provider) continueRequest(w http.ResponseWriter, r *http.Request, id string, pd *pending, consented bool) {
	t, ctx, now := tenantOf(r), r.Context(), p.Now()
	here := "/t/" + t.ID + pathResume + "?id=" + url.QueryEscape(id)
	s, err := p.Sessions.Lookup(ctx, r, t.ID)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	c, err := p.Clients.Get(ctx, t.ID, pd.ClientID)
	if err != nil {
		// The client was deleted while the person signed in.
		p.fail(w, r, http.StatusBadRequest, "The application that sent you here is no longer known to this sign-in service.", nil)
		return
	}
	if !client.AllowsRedirect(c, pd.RedirectURI) {
		p.fail(w, r, http.StatusBadRequest, "The application's registration changed while you were signing in. Go back to it and start again.", nil)
		return
	}
	if reason := needsSignIn(pd, s, now); reason != "" {
		if pd.has("none") {
			p.answerError(w, r, id, pd, "login_required", reason)
			return
		}
		if s == nil {
			signin := url.Values{"next": {here}}
			if pd.LoginHint != "" {
				// The sign-in page prefills its identifier field with the hint.
				signin.Set("login_hint", pd.LoginHint)
			}
			http.Redirect(w, r, "/t/"+t.ID+"/signin?"+signin.Encode(), http.StatusSeeOther)
			return
		}
		// A session exists but is not enough: sign out and in again, then come back.
		p.render(w, r, http.StatusOK, "oauth-reauth", map[string]string{
			"TenantName": t.DisplayName, "Reason": reason, "SignOutURL": "/t/" + t.ID + "/signout", "Next": here,
		})
		return
	}
	// A person who has used up every "Sign in faster" skip goes to the prompt first,
	// then comes back here; an authorization request is no way around it.
	if required, err := passkey.Required(ctx, p.Store, s); err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	} else if required {
		http.Redirect(w, r, "/t/"+t.ID+"/nudge?"+url.Values{"next": {here}}.Encode(), http.StatusSeeOther)
		return
	}
	if !c.FirstParty && !consented {
		ok, err := p.hasConsent(ctx, t.ID, s.UserID, c.ID, pd.Scopes)
		if err != nil {
			p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
			return
		}
		if !ok || pd.has("consent") {
			if pd.has("none") {
				p.answerError(w, r, id, pd, "consent_required", "the user has not approved this application")
				return
			}
			allowFormTo(w, pd.RedirectURI)
			p.render(w, r, http.StatusOK, "oauth-consent", map[string]any{
				"TenantName": t.DisplayName, "ClientName": c.Name, "Scopes": client.DescribeScopes(pd.Scopes, "Stay signed in to it when you are not using it"),
				"Action": "/t/" + t.ID + pathConsent, "RequestID": id, "AppsURL": "/t/" + t.ID + "/account/apps",
			})
			return
		}
	}
	p.issueCode(w, r, id, pd, s)
}

// needsSignIn says why the session cannot answer the request, or "" when it can.
func needsSignIn(pd *pending, s *store.Session, now time.Time) string {
	switch {
	case s == nil:
		return "You need to sign in."
	case s.Restricted:
		// A recovery session can only create a passkey: never a code or a consent.
		return "You are in the middle of recovering your account. Finish it by creating your new passkey, then sign in again."
	case pd.has("login") && s.AuthTime.Before(pd.Created):
		return "The application asked you to sign in again."
	case pd.MaxAge != nil && !session.Fresh(s, now, time.Duration(*pd.MaxAge)*time.Second):
		return "The application asked for a recent sign-in."
	case pd.RequirePhishingRes && !session.PhishingResistant(s):
		return "The application asked you to sign in with a passkey."
	}
	return ""
}

func (p *Provider) hasConsent(ctx context.Context, tenantID, userID, clientID string, scopes []string) (bool, error) {
	var c *store.Consent
	err := p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.GetConsent(ctx, tenantID, userID, clientID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	have := strings.Fields(c.Scope)
	for _, sc := range scopes {
		if !containsScope(have, sc) {
			return false, nil
		}
	}
	return true, nil
}

// consent records the person's decision on the consent page.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	t, ctx := tenantOf(r), r.Context()
	if err := web.ParseForm(w, r); err != nil {
		p.fail(w, r, http.StatusBadRequest, "The form could not be read.", err)
		return
	}
	id := r.PostForm.Get("id")
	pd, err := p.loadRequest(ctx, t.ID, id)
	if err != nil {
		p.fail(w, r, http.StatusBadRequest, "This sign-in request has expired or was already used. Go back to the application and start again.", nil)
		return
	}
	s, err := p.Sessions.Lookup(ctx, r, t.ID)
	if err != nil || s.Restricted {
		p.continueRequest(w, r, id, pd, false)
		return
	}
	m := p.userMeta(r, s)
	entry := audit.Entry{TenantID: t.ID, TargetType: "client", TargetID: pd.ClientID,
		Details: map[string]any{"scope": strings.Join(pd.Scopes, " ")}}
	if r.PostForm.Get("decision") != "allow" {
		entry.Type, entry.Result = audit.OAuthConsentDenied, audit.Denied
		if err := p.Store.InTx(ctx, func(tx store.Tx) error { return audit.Record(ctx, tx, p.Now(), m, entry) }); err != nil {
			p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
			return
		}
		p.answerError(w, r, id, pd, "access_denied", "the user denied the request")
		return
	}
	now := store.Micro(p.Now())
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		scopes := pd.Scopes
		if old, err := tx.GetConsent(ctx, t.ID, s.UserID, pd.ClientID); err == nil {
			for _, sc := range strings.Fields(old.Scope) {
				if !containsScope(scopes, sc) {
					scopes = append(scopes, sc)
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutConsent(ctx, &store.Consent{TenantID: t.ID, UserID: s.UserID, ClientID: pd.ClientID,
			Scope: strings.Join(scopes, " "), CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		entry.Type = audit.OAuthConsentGranted
		return audit.Record(ctx, tx, now, m, entry)
	})
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	p.continueRequest(w, r, id, pd, true)
}

// issueCode uses up the request, stores a code for it and sends it to the client.
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, id string, pd *pending, s *store.Session) {
	t, ctx, now := tenantOf(r), r.Context(), store.Micro(p.Now())
	code := secret.Token(32)
	data, err := json.Marshal(granted{pending: *pd, UserID: s.UserID, SessionID: s.ID,
		AuthTime: s.AuthTime, ACR: s.ACR, AMR: s.AMR})
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.RedeemArtifact(ctx, kindRequest, secret.Hash(id), now); err != nil {
			return err
		}
		if err := tx.PutArtifact(ctx, &store.Artifact{Hash: secret.Hash(code), Kind: kindCode, TenantID: t.ID,
			Subject: pd.ClientID, Data: data, CreatedAt: now, ExpiresAt: now.Add(CodeLifetime)}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, p.userMeta(r, s), audit.Entry{Type: audit.OAuthCodeIssued, TenantID: t.ID,
			TargetType: "client", TargetID: pd.ClientID, Details: map[string]any{"scope": strings.Join(pd.Scopes, " ")}})
	})
	if errors.Is(err, store.ErrNotFound) {
		p.fail(w, r, http.StatusBadRequest, "This sign-in request was already used. Go back to the application and start again.", nil)
		return
	}
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	p.answer(w, r, pd, url.Values{"code": {code}})
}

// answerError uses up the request and sends the error to the client.
func (p *Provider) answerError(w http.ResponseWriter, r *http.Request, id string, pd *pending, code, desc string) {
	ctx := r.Context()
	err := p.Store.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.RedeemArtifact(ctx, kindRequest, secret.Hash(id), p.Now())
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	p.answer(w, r, pd, url.Values{"error": {code}, "error_description": {desc}})
}

// answer delivers an authorization response to the client's redirect URI, with the
// state and, per RFC 9207, the issuer.
func (p *Provider) answer(w http.ResponseWriter, r *http.Request, pd *pending, v url.Values) {
	if pd.State != "" {
		v.Set("state", pd.State)
	}
	v.Set("iss", p.Issuer(tenantOf(r).ID))
	if pd.ResponseMode == "form_post" {
		u, err := url.Parse(pd.RedirectURI)
		if err != nil {
			p.fail(w, r, http.StatusBadRequest, "The application's address is not valid.", err)
			return
		}
		type field struct{ Name, Value string }
		var fields []field
		for _, k := range []string{"code", "error", "error_description", "state", "iss"} {
			if val := v.Get(k); val != "" {
				fields = append(fields, field{k, val})
			}
		}
		// The page may post only to the client's origin besides our own.
		w.Header().Set("Content-Security-Policy", web.CSP(u.Scheme+"://"+u.Host))
		p.render(w, r, http.StatusOK, "oauth-formpost", map[string]any{"Action": pd.RedirectURI, "Fields": fields})
		return
	}
	u, err := url.Parse(pd.RedirectURI)
	if err != nil {
		p.fail(w, r, http.StatusBadRequest, "The application's address is not valid.", err)
		return
	}
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (p *Provider) render(w http.ResponseWriter, r *http.Request, status int, view string, data any) {
	w.Header().Set("Cache-Control", "no-store")
	p.Renderer.Render(w, r, status, view, data)
}

func (p *Provider) userMeta(r *http.Request, s *store.Session) audit.Meta {
	c := passkey.ClientOf(r)
	return audit.Meta{ActorType: audit.ActorUser, ActorID: s.UserID, IP: c.IP, Network: c.Network,
		UserAgent: c.UserAgent, SessionID: s.ID}
}
