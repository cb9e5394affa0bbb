package app

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/device"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/oauth"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

//go:embed pages/*.html
var pageFiles embed.FS

// routes builds the mux and wraps it in the shared middleware stack.
func (a *App) routes() (http.Handler, error) {
	pages, err := fs.Sub(pageFiles, "pages")
	if err != nil {
		return nil, err
	}
	assets, err := web.NewAssets(selfservice.Static(), oauth.Static(), device.Static())
	if err != nil {
		return nil, err
	}
	rd, err := web.NewRenderer(web.RendererOptions{Logger: a.Logger, Assets: assets, Pages: []fs.FS{pages, selfservice.Pages(), oauth.Pages(), recovery.Pages(), device.Pages()}})
	if err != nil {
		return nil, err
	}
	proxies := make([]string, 0, len(a.Config.TrustedProxies))
	for _, p := range a.Config.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	ips, err := web.NewIPResolver(proxies)
	if err != nil {
		return nil, err
	}
	fail := func(w http.ResponseWriter, r *http.Request, err error) { web.Fail(w, r, rd, err) }
	inTenant := a.Tenants.Resolve(rd.NotFound, fail)

	mux := http.NewServeMux()
	assets.Mount(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
	if a.DevMailbox() {
		mb := notify.MailboxHandler(a.Store, func(r *http.Request) netip.Addr { return web.ClientIP(r.Context()) })
		mux.Handle("GET /dev/mailbox", mb)
		mux.Handle("GET /dev/mailbox.json", mb)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		rd.Render(w, r, http.StatusOK, "home", map[string]string{"Issuer": a.Config.Issuer(tenant.Default)})
	})
	mux.Handle("GET /t/{tenant}/{$}", inTenant(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := tenant.FromContext(r.Context())
		// A missing, corrupt, expired or foreign cookie just means "not signed in".
		s, err := a.Sessions.Lookup(r.Context(), r, t.ID)
		if err != nil && !errors.Is(err, session.ErrNoSession) {
			fail(w, r, err)
			return
		}
		p, err := a.Tenants.Policy(r.Context(), t.ID)
		if err != nil {
			fail(w, r, err)
			return
		}
		rd.Render(w, r, http.StatusOK, "tenant", map[string]any{
			"Name": t.DisplayName, "ID": t.ID, "Issuer": a.Config.Issuer(t.ID), "SignedIn": s != nil,
			"SignUp": tenant.SignUpAllowed(t.ID, p),
		})
	})))
	oauthMetrics, err := oauth.NewMetrics(a.Registry)
	if err != nil {
		return nil, err
	}
	deviceMetrics, err := device.NewMetrics(a.Registry)
	if err != nil {
		return nil, err
	}
	a.Device = &device.Service{Store: a.Store, Now: a.Now, Key: keys.Derive(a.kek, "gatehouse device user code key v1"),
		Locator: a.GeoIP, Metrics: deviceMetrics}
	a.OAuth = &oauth.Provider{
		Store: a.Store, Now: a.Now, Logger: a.Logger, BaseURL: a.Config.BaseURL, Keys: a.Keys, Clients: a.Clients,
		Sessions: a.Sessions, Renderer: rd, InTenant: inTenant, Metrics: oauthMetrics, Device: a.Device,
		DPoPNonce: a.Config.DPoPNonce, NonceKey: keys.Derive(a.kek, "gatehouse dpop nonce key v1"),
	}
	a.OAuth.Mount(mux)
	(&device.Handlers{Service: a.Device, Store: a.Store, Now: a.Now, Logger: a.Logger, Renderer: rd, InTenant: inTenant,
		Tenants: a.Tenants, Sessions: a.Sessions, Clients: a.Clients}).Mount(mux)
	(&adminapi.Handlers{
		Store: a.Store, Now: a.Now, Logger: a.Logger, Tenants: a.Tenants, Users: a.Users, Clients: a.Clients,
		Sessions: a.Sessions, Tokens: a.OAuth, Issuer: a.Config.Issuer, Recovery: a.Recovery,
	}).Mount(mux)
	(&passkey.Handlers{Service: a.Passkeys, InTenant: inTenant}).Mount(mux)
	(&recovery.Handlers{Service: a.Recovery, Tenants: a.Tenants, Renderer: rd, Logger: a.Logger, InTenant: inTenant,
		Secure: a.Config.Secure()}).Mount(mux)
	(&selfservice.Handlers{
		Store: a.Store, Now: a.Now, Logger: a.Logger, Renderer: rd, InTenant: inTenant,
		Tenants: a.Tenants, Users: a.Users, Sessions: a.Sessions, Passkeys: a.Passkeys, OTP: a.OTP,
		BaseURL: a.Config.BaseURL, SetupKind: ArtifactOperatorSetup,
		HasRoute: func(method, path string) bool {
			// A page exists when some route other than the catch-all answers it.
			_, pattern := mux.Handler(&http.Request{Method: method, URL: &url.URL{Path: path}, Host: "localhost"})
			return pattern != "" && pattern != "/"
		},
	}).Mount(mux)
	mux.HandleFunc("/", rd.NotFound)

	var limiter *web.RateLimiter
	if a.Config.RateLimit > 0 {
		limiter = web.NewRateLimiter(float64(a.Config.RateLimit), 4*a.Config.RateLimit, a.Now)
	}
	return web.Stack{
		Logger:     a.Logger,
		Renderer:   rd,
		IPs:        ips,
		Limiter:    limiter,
		Metrics:    web.NewMetrics(a.Registry),
		HSTS:       a.Config.TLSCert != "",
		CSRFBypass: oauth.CSRFBypass(),
	}.Wrap(mux)
}

// readyz answers 200 while the database answers, and 503 otherwise, so a load
// balancer takes a node whose database went away out of rotation.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.Store.Ping(ctx); err != nil {
		a.Logger.WarnContext(r.Context(), "readiness check failed", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unreachable\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
