// Package adminapi is Gatehouse's JSON admin API under /admin/api/v1: tenants, their
// clients and their policy, with the same services, validation, warnings and audit
// events as the command line.
//
// A request is authenticated either by an access token that a client obtained from
// its tenant's token endpoint with the client_credentials grant and scope
// gatehouse:admin, or by the browser session of an operator or admin who signed in
// with a passkey and is not on a recovery hold. The system tenant's principals
// administer every tenant; anyone else administers only their own.
//
// Each resource lives in one file that returns its routes (see tenants.go); adding a
// resource means adding such a file, naming its routes function in Handlers.routes,
// and describing the routes in openapi.json (a test checks every route is there).
package adminapi

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/oauth"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// Prefix is the path every admin API route starts with.
const Prefix = "/admin/api/v1"

// TokenVerifier checks the access token a request presents; *oauth.Provider is one.
type TokenVerifier interface {
	VerifyAccess(r *http.Request) (*oauth.Access, error)
}

// Handlers serves the admin API.
type Handlers struct {
	Store    store.Store
	Now      func() time.Time
	Logger   *slog.Logger
	Tenants  *tenant.Service
	Users    *user.Service
	Clients  *client.Service
	Sessions *session.Manager
	Tokens   TokenVerifier
	// Issuer returns a tenant's issuer URL, shown with the tenant.
	Issuer func(tenantID string) string
	// Recovery issues and approves help-desk passes and ends recovery holds.
	Recovery *recovery.Service
}

// Request is what a route handler gets besides the HTTP request: who is asking and,
// for routes under /tenants/{tenant}, the tenant, which exists and which the
// principal administers.
type Request struct {
	Who    *Principal
	Tenant *store.Tenant
}

// route is one endpoint: a method and a path below Prefix in ServeMux pattern syntax.
type route struct {
	method, path string
	handle       func(w http.ResponseWriter, r *http.Request, rq *Request) error
	// public routes need no credentials (the API description).
	public bool
}

func (h *Handlers) routes() []route {
	return slices.Concat(h.docRoutes(), h.tenantRoutes(), h.clientRoutes(), h.policyRoutes(), h.tapRoutes())
}

// Routes lists every route as "METHOD /admin/api/v1/path".
func (h *Handlers) Routes() []string {
	var out []string
	for _, rt := range h.routes() {
		out = append(out, rt.method+" "+Prefix+rt.path)
	}
	return out
}

// Mount adds the API's routes to mux. Each path also answers other methods with a
// JSON 405 naming the allowed ones, and unknown paths below Prefix with a JSON 404,
// where the mux would answer in plain text.
func (h *Handlers) Mount(mux *http.ServeMux) {
	allowed := map[string][]string{}
	for _, rt := range h.routes() {
		mux.Handle(rt.method+" "+Prefix+rt.path, h.serve(rt))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for path, methods := range allowed {
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		sort.Strings(methods)
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(Prefix+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			h.fail(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "invalid_request",
				Description: r.Method + " is not allowed here; use " + allow})
		})
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, notFound("there is no admin API endpoint at %s", r.URL.Path))
	})
}

// serve authenticates the request, checks the principal administers the tenant the
// path names, and runs the route.
func (h *Handlers) serve(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		rq := &Request{}
		if !rt.public {
			who, err := h.authenticate(r)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			rq.Who = who
			if who.Nonce != "" {
				w.Header().Set("DPoP-Nonce", who.Nonce)
			}
		}
		if strings.Contains(rt.path, "{tenant}") {
			t, err := h.tenantFor(r, rq.Who)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			rq.Tenant = t
		}
		if err := rt.handle(w, r, rq); err != nil {
			h.fail(w, r, err)
		}
	})
}

// tenantFor returns the tenant of the path. Whether it exists is only said to a
// principal allowed to administer it, so a tenant's admin cannot probe for others.
func (h *Handlers) tenantFor(r *http.Request, who *Principal) (*store.Tenant, error) {
	id := r.PathValue("tenant")
	if !who.Administers(id) {
		return nil, denied("you administer tenant %s only", who.Home)
	}
	if !tenant.ValidID(id) {
		return nil, notFound("no tenant %q", id)
	}
	t, err := h.Tenants.Get(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("no tenant %q", id)
		}
		return nil, err
	}
	return t, nil
}
