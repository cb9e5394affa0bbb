package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/oauth"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// Principal is who makes an admin API request: an operator signed in with a passkey,
// or a client holding a client_credentials token with the admin scope.
type Principal struct {
	// ActorType is audit.ActorUser or audit.ActorClient; ActorID the user or client id.
	ActorType string
	ActorID   string
	// Home is the principal's own tenant. The system tenant's operators and clients
	// administer every tenant; anyone else administers only their own.
	Home string
	// Session is the operator's browser session (nil for a client).
	Session *store.Session
	// Nonce, when set, is the DPoP server nonce to send with the answer, so a client
	// whose token is DPoP-bound holds a fresh one for its next proof.
	Nonce string
}

// Administers reports whether the principal may administer tenantID.
func (p *Principal) Administers(tenantID string) bool {
	return p.Home == tenant.System || p.Home == tenantID
}

// Meta describes the principal and the request for audit events.
func (p *Principal) Meta(r *http.Request) audit.Meta {
	c := passkey.ClientOf(r)
	m := audit.Meta{ActorType: p.ActorType, ActorID: p.ActorID, IP: c.IP, Network: c.Network, UserAgent: c.UserAgent}
	if p.Session != nil {
		m.SessionID, m.Flow = p.Session.ID, p.Session.Flow
	}
	return m
}

// challenge is the WWW-Authenticate of a request that brought no usable credentials.
const challenge = `Bearer realm="gatehouse", scope="` + client.AdminScope + `"`

func unauthenticated(desc string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc, Challenge: challenge}
}

// authenticate returns the principal of the request. An Authorization header is the
// only credential looked at when present, so a request never mixes a token with a
// browser's cookie; otherwise the session cookie is.
func (h *Handlers) authenticate(r *http.Request) (*Principal, error) {
	if r.Header.Get("Authorization") != "" {
		return h.tokenPrincipal(r)
	}
	return h.sessionPrincipal(r)
}

func (h *Handlers) tokenPrincipal(r *http.Request) (*Principal, error) {
	a, err := h.Tokens.VerifyAccess(r)
	var te *oauth.TokenError
	if errors.As(err, &te) {
		scheme := "Bearer"
		if te.DPoP {
			scheme = "DPoP"
		}
		return nil, &Error{Status: http.StatusUnauthorized, Code: te.Code, Description: te.Description,
			Challenge: scheme + ` realm="gatehouse", error="` + te.Code + `"`, Nonce: te.Nonce}
	}
	if err != nil {
		return nil, err
	}
	insufficient := func(desc string) *Error {
		return &Error{Status: http.StatusForbidden, Code: "insufficient_scope", Description: desc, Nonce: a.Nonce,
			Challenge: `Bearer realm="gatehouse", error="insufficient_scope", scope="` + client.AdminScope + `"`}
	}
	if a.User {
		e := denied("this access token acts for a user; the admin API takes tokens a client obtained " +
			"for itself with the client_credentials grant and scope " + client.AdminScope)
		e.Nonce = a.Nonce
		return nil, e
	}
	if !slices.Contains(a.Scopes, client.AdminScope) {
		return nil, insufficient("the access token lacks scope " + client.AdminScope)
	}
	// A client that was deleted or lost the scope loses the API at once, not when
	// its token expires.
	c, err := h.Clients.Get(r.Context(), a.TenantID, a.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		e := unauthenticated("the client this access token was issued to no longer exists")
		e.Nonce = a.Nonce
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.Scopes, client.AdminScope) || !client.AllowsGrant(c, client.GrantClientCredentials) {
		return nil, insufficient("the client this access token was issued to is no longer allowed scope " + client.AdminScope)
	}
	return &Principal{ActorType: audit.ActorClient, ActorID: c.ID, Home: a.TenantID, Nonce: a.Nonce}, nil
}

// unsafeMethod reports whether a request may change something.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// maxCookieLen bounds the cookie value hashed and looked up; real ones are 43 bytes.
const maxCookieLen = 128

func (h *Handlers) sessionPrincipal(r *http.Request) (*Principal, error) {
	ctx := r.Context()
	none := unauthenticated("sign in as an operator with a passkey, or send an access token with scope " + client.AdminScope)
	ck, err := r.Cookie(h.Sessions.CookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > maxCookieLen {
		return nil, none
	}
	// The cookie is shared by every tenant's pages; the session says which tenant it
	// signed in to, and Lookup then applies the usual checks for that tenant.
	var found *store.Session
	err = h.Store.View(ctx, func(tx store.Tx) error {
		var err error
		found, err = tx.GetSessionByTokenHash(ctx, secret.Hash(ck.Value))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, none
	}
	if err != nil {
		return nil, err
	}
	s, err := h.Sessions.Lookup(ctx, r, found.TenantID)
	if errors.Is(err, session.ErrNoSession) {
		return nil, none
	}
	if err != nil {
		return nil, err
	}
	u, _, err := h.Users.Get(ctx, s.TenantID, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, none
	}
	if err != nil {
		return nil, err
	}
	now := h.Now()
	switch {
	case u.Status != store.UserActive:
		return nil, denied("this account is %s", u.Status)
	case now.Before(u.HoldUntil):
		return nil, denied("this account is on a recovery hold until %s: admin features are unavailable until then",
			u.HoldUntil.UTC().Format(time.RFC3339))
	case s.Flow == session.FlowProvisional:
		// The hold is over, but this session still only proves a passkey that whoever
		// recovered the account added; signing in again proves one the owner trusts now.
		return nil, denied("this session was signed in with a passkey added during a recovery hold: " +
			"sign in again with a passkey (any of the account's passkeys, now that the hold is over)")
	case !user.Privileged(u):
		return nil, denied("this account has no operator or admin role")
	case !session.PhishingResistant(s):
		return nil, denied("admin features need a session signed in with a passkey: sign in again with your passkey")
	}
	if unsafeMethod(r.Method) {
		// A change made with an operator's cookie needs a recent passkey, as changes
		// to one's own account do: a session left open on an unattended machine can
		// read, but not administer.
		p, err := tenant.CurrentPolicyOf(ctx, h.Store, s.TenantID)
		if err != nil {
			return nil, err
		}
		if !session.Fresh(s, now, p.Sessions.StepUpAge.D()) {
			return nil, &Error{Status: http.StatusForbidden, Code: "step_up_required", Description: fmt.Sprintf(
				"changes need a passkey confirmation within the last %s: confirm with your passkey "+
					"(POST /t/%s/api/passkey/stepup/begin, then finish) and send the request again", p.Sessions.StepUpAge.D(), s.TenantID)}
		}
	}
	return &Principal{ActorType: audit.ActorUser, ActorID: u.ID, Home: u.TenantID, Session: s}, nil
}
