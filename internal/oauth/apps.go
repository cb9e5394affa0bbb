package oauth

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// appsPage lists the applications the signed-in person allowed, each with a button
// that takes the permission back.
func (p *Provider) appsPage(w http.ResponseWriter, r *http.Request) {
	t, ctx := tenantOf(r), r.Context()
	s, err := p.Sessions.Lookup(ctx, r, t.ID)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, "/t/"+t.ID+"/signin?next=/t/"+t.ID+"/account/apps", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	if s.Restricted {
		p.fail(w, r, http.StatusForbidden, "Finish recovering your account first: this session can only create a new passkey.", nil)
		return
	}
	var consents []store.Consent
	names := map[string]string{}
	err = p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if consents, err = tx.ListConsents(ctx, t.ID, s.UserID); err != nil {
			return err
		}
		for _, c := range consents {
			if cl, err := tx.GetClient(ctx, t.ID, c.ClientID); err == nil {
				names[c.ClientID] = cl.Name
			}
		}
		return nil
	})
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	type app struct{ Name, Scope, Since, RevokeURL string }
	var apps []app
	for _, c := range consents {
		name := names[c.ClientID]
		if name == "" {
			name = c.ClientID
		}
		apps = append(apps, app{Name: name, Scope: c.Scope, Since: c.CreatedAt.Format("2 January 2006"),
			RevokeURL: "/t/" + t.ID + "/account/apps/" + c.ClientID + "/revoke"})
	}
	p.render(w, r, http.StatusOK, "oauth-apps", map[string]any{"TenantName": t.DisplayName, "Apps": apps,
		"AccountURL": "/t/" + t.ID + "/account"})
}

// revokeApp forgets the consent and revokes every token family of the person with
// that application.
func (p *Provider) revokeApp(w http.ResponseWriter, r *http.Request) {
	t, ctx := tenantOf(r), r.Context()
	s, err := p.Sessions.Lookup(ctx, r, t.ID)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, "/t/"+t.ID+"/signin", http.StatusSeeOther)
		return
	}
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	if s.Restricted {
		p.fail(w, r, http.StatusForbidden, "Finish recovering your account first: this session can only create a new passkey.", nil)
		return
	}
	clientID := r.PathValue("client")
	now := store.Micro(p.Now())
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteConsent(ctx, t.ID, s.UserID, clientID); err != nil {
			return err
		}
		n, err := tx.RevokeUserClientGrants(ctx, t.ID, s.UserID, clientID, now, "consent withdrawn")
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, p.userMeta(r, s), audit.Entry{Type: audit.OAuthConsentRevoked, TenantID: t.ID,
			TargetType: "client", TargetID: clientID, Details: map[string]any{"grants_revoked": n}})
	})
	if errors.Is(err, store.ErrNotFound) {
		p.fail(w, r, http.StatusNotFound, "That application does not have access to your account.", nil)
		return
	}
	if err != nil {
		p.fail(w, r, http.StatusInternalServerError, web.InternalMessage, err)
		return
	}
	http.Redirect(w, r, "/t/"+t.ID+"/account/apps", http.StatusSeeOther)
}
