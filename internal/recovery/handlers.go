package recovery

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

//go:embed pages/*.html
var pageFiles embed.FS

// Pages returns this package's views, for web.RendererOptions.Pages. Every view name
// starts with "recovery-" so none collides with another package's.
func Pages() fs.FS {
	return web.Embedded(pageFiles, "pages")
}

// Handlers serves the recovery pages under /t/{tenant}/recover and the recovery-codes
// page of the account.
type Handlers struct {
	Service  *Service
	Tenants  *tenant.Service
	Renderer *web.Renderer
	Logger   *slog.Logger
	// InTenant puts the tenant named in the path into the request context.
	InTenant func(http.Handler) http.Handler
	// Secure marks the pending-step cookie Secure (__Host- prefix), as for sessions.
	Secure bool
}

// Mount registers the pages on mux.
func (h *Handlers) Mount(mux *http.ServeMux) {
	for pattern, fn := range map[string]http.HandlerFunc{
		"GET /t/{tenant}/recover":                 h.startPage,
		"POST /t/{tenant}/recover":                h.sendCode,
		"POST /t/{tenant}/recover/code":           h.checkCode,
		"POST /t/{tenant}/recover/saved-code":     h.checkSavedCode,
		"GET /t/{tenant}/recover/passkey":         h.passkeyPage,
		"GET /t/{tenant}/recover/done":            h.donePage,
		"GET /t/{tenant}/recover/tap":             h.tapPage,
		"POST /t/{tenant}/recover/tap":            h.tapSignIn,
		"GET /t/{tenant}/recover/not-me":          h.notMePage,
		"POST /t/{tenant}/recover/not-me":         h.notMe,
		"GET /t/{tenant}/account/recovery-codes":  h.codesPage,
		"POST /t/{tenant}/account/recovery-codes": h.generateCodes,
	} {
		mux.Handle(pattern, h.InTenant(fn))
	}
}

// frame is what every page shows around its own content.
type frame struct {
	TenantID   string
	TenantName string
	Base       string
	API        string
}

func (h *Handlers) frame(r *http.Request) frame {
	t := tenantOf(r)
	base := "/t/" + t.ID
	return frame{TenantID: t.ID, TenantName: t.DisplayName, Base: base, API: base + "/api/passkey"}
}

func tenantOf(r *http.Request) *store.Tenant {
	t, _ := tenant.FromContext(r.Context())
	return t
}

// messagePage is the Data of the "recovery-message" view.
type messagePage struct {
	frame
	Title    string
	Message  string
	LinkText string
	LinkURL  string
}

func (h *Handlers) message(w http.ResponseWriter, r *http.Request, status int, title, msg, linkText, linkURL string) {
	h.Renderer.Render(w, r, status, "recovery-message", messagePage{frame: h.frame(r), Title: title, Message: msg,
		LinkText: linkText, LinkURL: linkURL})
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	web.Fail(w, r, h.Renderer, err)
}

func (h *Handlers) policy(w http.ResponseWriter, r *http.Request) (tenant.Policy, bool) {
	p, err := h.Tenants.Policy(r.Context(), tenantOf(r).ID)
	if err != nil {
		h.fail(w, r, err)
		return tenant.Policy{}, false
	}
	return p, true
}

// session returns the request's session, or nil.
func (h *Handlers) session(r *http.Request) (*store.Session, error) {
	s, err := h.Service.Sessions.Lookup(r.Context(), r, tenantOf(r).ID)
	if errors.Is(err, session.ErrNoSession) {
		return nil, nil
	}
	return s, err
}

// throttled renders the page for a reached limit and reports whether err was one.
func (h *Handlers) throttled(w http.ResponseWriter, r *http.Request, err error, backURL string) bool {
	var te *otp.ThrottledError
	if !errors.As(err, &te) {
		return false
	}
	why := "There have been too many attempts from your network."
	switch te.Reason {
	case otp.ReasonSends:
		why = "We have sent as many codes to that address as we can for now."
	case otp.ReasonTries:
		why = "There have been too many wrong codes for this account."
	}
	secs := int((te.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	h.message(w, r, http.StatusTooManyRequests, "Please wait a little", why+" Try again in "+notify.Minutes(te.RetryAfter)+".",
		"Back", backURL)
	return true
}

func (h *Handlers) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := web.ParseForm(w, r); err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

// pendingCookie names the cookie of the recovery-code step.
func (h *Handlers) pendingCookie() string {
	if h.Secure {
		return "__Host-gh_recovery"
	}
	return "gh_recovery"
}

func (h *Handlers) setPending(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: h.pendingCookie(), Value: value, Path: "/", Secure: h.Secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: maxAge})
}

func clientOf(r *http.Request) Client { return passkey.ClientOf(r) }

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
