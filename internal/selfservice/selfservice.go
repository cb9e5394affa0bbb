// Package selfservice serves the pages people use to get into Gatehouse and look after
// their own account: sign-in (passkey autofill, usernameless, and the email code when
// the tenant allows it), sign-up (email first or passkey first), the "Sign in faster"
// prompt, the account page (passkeys, emails, sessions, recent activity), sign-out and
// the first operator's setup link.
//
// Pages are rendered on the server and work by keyboard and on a phone. The only
// script is static/passkey.js, an ES module that runs the WebAuthn ceremonies against
// the passkey JSON API; nothing is inlined, so the strict CSP holds.
package selfservice

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

//go:embed pages/*.html
var pageFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Pages returns the views of this package, for web.RendererOptions.Pages.
func Pages() fs.FS {
	return web.Embedded(pageFiles, "pages")
}

// Static returns this package's script and stylesheet, for web.NewAssets.
func Static() fs.FS {
	return web.Embedded(staticFiles, "static")
}

// Handlers serves the self-service pages under /t/{tenant}/.
type Handlers struct {
	Store    store.Store
	Now      func() time.Time
	Logger   *slog.Logger
	Renderer *web.Renderer
	// InTenant puts the tenant named in the path into the request context.
	InTenant func(http.Handler) http.Handler
	Tenants  *tenant.Service
	Users    *user.Service
	Sessions *session.Manager
	Passkeys *passkey.Service
	OTP      *otp.Service
	// BaseURL is the public origin, for links in email.
	BaseURL string
	// SetupKind is the artifact kind of operator setup links.
	SetupKind string
	// HasRoute reports whether the server answers method and path with a real page,
	// so a link to a page another capability serves (recovery) is shown only once that
	// page exists. Nil means no such page exists.
	HasRoute func(method, path string) bool
}

// Mount registers the pages on mux.
func (h *Handlers) Mount(mux *http.ServeMux) {
	for pattern, fn := range map[string]http.HandlerFunc{
		"GET /t/{tenant}/signin":        h.signInPage,
		"POST /t/{tenant}/signin/email": h.signInEmail,
		"POST /t/{tenant}/signin/code":  h.signInCode,

		"GET /t/{tenant}/signup":         h.signUpPage,
		"POST /t/{tenant}/signup":        h.signUpEmail,
		"POST /t/{tenant}/signup/verify": h.signUpVerify,
		"GET /t/{tenant}/signup/passkey": h.signUpPasskey,

		"GET /t/{tenant}/nudge":  h.nudgePage,
		"POST /t/{tenant}/nudge": h.nudgeSkip,

		"GET /t/{tenant}/account":                         h.accountPage,
		"POST /t/{tenant}/account/passkeys/{id}/rename":   h.renamePasskey,
		"POST /t/{tenant}/account/passkeys/{id}/remove":   h.removePasskey,
		"POST /t/{tenant}/account/emails":                 h.addEmail,
		"POST /t/{tenant}/account/emails/verify":          h.verifyEmail,
		"POST /t/{tenant}/account/emails/{id}/primary":    h.makePrimaryEmail,
		"POST /t/{tenant}/account/emails/{id}/remove":     h.removeEmail,
		"POST /t/{tenant}/account/sessions/{id}/revoke":   h.revokeSession,
		"POST /t/{tenant}/account/sessions/revoke-others": h.revokeOtherSessions,
		"POST /t/{tenant}/signout":                        h.signOut,
		"GET /t/{tenant}/setup":                           h.setupPage,
		"POST /t/{tenant}/setup":                          h.setupSubmit,
	} {
		mux.Handle(pattern, h.InTenant(fn))
	}
}

// frame is what every page shows around its own content.
type frame struct {
	TenantID   string
	TenantName string
	// Base is the tenant's path prefix without a trailing slash ("/t/acme").
	Base string
	// API is where the passkey JSON API lives.
	API string
	// Next is where to go after the page's flow finishes ("" for the default).
	Next string
}

func (h *Handlers) frame(r *http.Request, next string) frame {
	t, _ := tenant.FromContext(r.Context())
	base := "/t/" + t.ID
	return frame{TenantID: t.ID, TenantName: t.DisplayName, Base: base, API: base + "/api/passkey", Next: next}
}

func tenantOf(r *http.Request) *store.Tenant {
	t, _ := tenant.FromContext(r.Context())
	return t
}

func (h *Handlers) render(w http.ResponseWriter, r *http.Request, status int, view string, data any) {
	h.Renderer.Render(w, r, status, view, data)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	web.Fail(w, r, h.Renderer, err)
}

// parseForm reads a posted form; bad input gets the shared 4xx page and false.
func (h *Handlers) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := web.ParseForm(w, r); err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

func (h *Handlers) policy(w http.ResponseWriter, r *http.Request) (tenant.Policy, bool) {
	p, err := h.Tenants.Policy(r.Context(), tenantOf(r).ID)
	if err != nil {
		h.fail(w, r, err)
		return tenant.Policy{}, false
	}
	return p, true
}

// currentSession returns the request's session, or nil when it has none.
func (h *Handlers) currentSession(r *http.Request) (*store.Session, error) {
	s, err := h.Sessions.Lookup(r.Context(), r, tenantOf(r).ID)
	if errors.Is(err, session.ErrNoSession) {
		return nil, nil
	}
	return s, err
}

// requireSession returns the request's session, or sends the browser to sign in and
// come back to path.
func (h *Handlers) requireSession(w http.ResponseWriter, r *http.Request, path string) (*store.Session, bool) {
	s, err := h.currentSession(r)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	if s == nil {
		t := tenantOf(r)
		http.Redirect(w, r, withNext("/t/"+t.ID+"/signin", safeNext(t.ID, path)), http.StatusSeeOther)
		return nil, false
	}
	if s.Restricted {
		// A recovery session can do exactly one thing: create its new passkey.
		t := tenantOf(r)
		h.render(w, r, http.StatusForbidden, "message", messagePage{frame: h.frame(r, ""),
			Title:    "Finish recovering your account first",
			Message:  "This session can only create a new passkey for your account. Create it, and then you can use the rest of your account.",
			LinkText: "Create your new passkey", LinkURL: "/t/" + t.ID + "/recover/passkey"})
		return nil, false
	}
	return s, true
}

// emailCodeSignIn reports whether the tenant lets people sign in with an email code.
func emailCodeSignIn(p tenant.Policy) bool {
	return p.Flows.EmailCodeSignIn && p.Methods.EmailCode.SignIn
}

// meta describes the person making the request for audit events.
func meta(r *http.Request, userID, sessionID string) audit.Meta {
	c := passkey.ClientOf(r)
	return audit.Meta{ActorType: audit.ActorUser, ActorID: userID, IP: c.IP, Network: c.Network,
		UserAgent: c.UserAgent, SessionID: sessionID}
}

// redirect sends the browser on with 303, so a reload never re-posts a form.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (h *Handlers) logError(r *http.Request, msg string, err error) {
	if h.Logger != nil {
		h.Logger.ErrorContext(r.Context(), msg, "error", err, "request_id", web.RequestID(r.Context()))
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
