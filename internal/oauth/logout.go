package oauth

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// logoutRequest is a checked RP-initiated logout request (OpenID Connect RP-Initiated
// Logout 1.0 §2).
type logoutRequest struct {
	hint     *idClaims // nil without id_token_hint
	clientID string
	redirect string // verified post_logout_redirect_uri, or ""
	state    string
}

// parseLogout checks the request; a failure is a sentence for an error page, since a
// redirect URI that failed its check must never be followed.
func (p *Provider) parseLogout(r *http.Request, form url.Values) (*logoutRequest, string) {
	t, ctx := tenantOf(r), r.Context()
	lr := &logoutRequest{clientID: form.Get("client_id"), state: form.Get("state")}
	if len(lr.state) > maxParam || len(lr.clientID) > 256 {
		return nil, "The sign-out request is not valid."
	}
	if raw := form.Get("id_token_hint"); raw != "" {
		var c idClaims
		// An expired ID token is still a fine hint of who asks (§2: the OP should accept it).
		if err := p.verify(ctx, t.ID, raw, typIDToken, &c); err != nil || c.Issuer != p.Issuer(t.ID) || len(c.Audience) == 0 {
			return nil, "The sign-out request carries an ID token this service did not issue."
		}
		if lr.clientID != "" && !c.Audience.Contains(lr.clientID) {
			return nil, "The sign-out request names two different applications."
		}
		lr.hint, lr.clientID = &c, c.Audience[0]
	}
	if uri := form.Get("post_logout_redirect_uri"); uri != "" {
		if lr.clientID == "" {
			return nil, "The sign-out request does not say which application it comes from."
		}
		c, err := p.Clients.Get(ctx, t.ID, lr.clientID)
		if err != nil || !client.AllowsPostLogoutRedirect(c, uri) {
			return nil, "The application asked to send you to an address it has not registered, so we stopped here."
		}
		lr.redirect = uri
	}
	return lr, ""
}

// logout ends the Gatehouse session when the relying party proved, with an ID token
// of this very session, that it speaks for it; otherwise it asks the person first, so
// a cross-site link cannot sign anyone out.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	if err := web.ParseForm(w, r); err != nil {
		p.fail(w, r, http.StatusBadRequest, "The sign-out request could not be read.", err)
		return
	}
	lr, problem := p.parseLogout(r, r.Form)
	if problem != "" {
		p.fail(w, r, http.StatusBadRequest, problem, nil)
		return
	}
	t := tenantOf(r)
	s, err := p.Sessions.Lookup(r.Context(), r, t.ID)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	if s != nil && (lr.hint == nil || lr.hint.SessionID != s.ID) {
		type field struct{ Name, Value string }
		var fields []field
		for _, k := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id"} {
			if v := r.Form.Get(k); v != "" {
				fields = append(fields, field{k, v})
			}
		}
		if lr.redirect != "" {
			allowFormTo(w, lr.redirect)
		}
		p.render(w, r, http.StatusOK, "oauth-logout", map[string]any{"TenantName": t.DisplayName,
			"Action": "/t/" + t.ID + pathLogout + "/confirm", "Fields": fields})
		return
	}
	p.endSession(w, r, s, lr)
}

// logoutConfirm is the person's own click on the confirm page (same origin only).
func (p *Provider) logoutConfirm(w http.ResponseWriter, r *http.Request) {
	if err := web.ParseForm(w, r); err != nil {
		p.fail(w, r, http.StatusBadRequest, "The sign-out request could not be read.", err)
		return
	}
	lr, problem := p.parseLogout(r, r.PostForm)
	if problem != "" {
		p.fail(w, r, http.StatusBadRequest, problem, nil)
		return
	}
	s, err := p.Sessions.Lookup(r.Context(), r, tenantOf(r).ID)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	p.endSession(w, r, s, lr)
}

func (p *Provider) endSession(w http.ResponseWriter, r *http.Request, s *store.Session, lr *logoutRequest) {
	t, ctx := tenantOf(r), r.Context()
	if s != nil {
		now := store.Micro(p.Now())
		m := p.userMeta(r, s)
		err := p.Store.InTx(ctx, func(tx store.Tx) error {
			if err := session.Revoke(ctx, tx, now, t.ID, s.ID, "signed out by application", m); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.OAuthLogout, TenantID: t.ID, TargetType: "client",
				TargetID: lr.clientID, Details: map[string]any{"session_id": s.ID}})
		})
		if err != nil {
			p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
			return
		}
	}
	p.Sessions.ClearCookie(w)
	if lr.redirect == "" {
		p.render(w, r, http.StatusOK, "oauth-message", map[string]string{"Title": "You are signed out",
			"Message": "You are signed out of " + t.DisplayName + ". You can close this window."})
		return
	}
	u, err := url.Parse(lr.redirect)
	if err != nil {
		p.fail(w, r, http.StatusBadRequest, "The application's address is not valid.", err)
		return
	}
	if lr.state != "" {
		q := u.Query()
		q.Set("state", lr.state)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
