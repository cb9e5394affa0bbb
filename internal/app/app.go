// Package app wires Gatehouse together: it opens the store, brings the schema up to
// date, creates the built-in tenants and the key-encryption key, mounts every
// capability's routes and runs the HTTP server and background workers. End-to-end
// tests start it on :0 exactly as `gatehouse serve` does.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/device"
	"github.com/gatehouse-id/gatehouse/internal/geoip"
	"github.com/gatehouse-id/gatehouse/internal/housekeeping"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/oauth"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// Options are the parts of the environment an App takes from its caller.
type Options struct {
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // nil: time.Now
	// Node names this process in outbox leases; default: host name + random suffix.
	Node string
}

// App is one running Gatehouse node.
type App struct {
	Config   config.Config
	Logger   *slog.Logger
	Now      func() time.Time
	DB       *sqlstore.DB
	Store    store.Store
	Tenants  *tenant.Service
	Users    *user.Service
	Sessions *session.Manager
	Passkeys *passkey.Service
	// OTP issues and checks one-time codes; its key is derived from the KEK.
	OTP      *otp.Service
	Registry *prometheus.Registry
	Outbox   *notify.Worker
	Sealer   *keys.Sealer
	// Keys signs tokens with each tenant's keys; Clients holds the OAuth clients.
	Keys    *keys.KeyManager
	Clients *client.Service
	// OAuth is the OAuth 2.0 / OpenID Connect provider.
	OAuth *oauth.Provider
	// Device runs the device authorization grant; GeoIP (nil without --geoip-db)
	// tells it the ASN and approximate location of addresses.
	Device *device.Service
	GeoIP  device.Locator
	geo    *geoip.DB // what GeoIP holds, to close; nil without --geoip-db
	// Recovery runs account recovery, recovery codes, holds and help-desk passes.
	Recovery *recovery.Service
	// Housekeeping deletes records some time after they ended.
	Housekeeping *housekeeping.Janitor

	handler http.Handler
	node    string
	// kek is the key-encryption key; other server secrets are derived from it.
	kek []byte
}

// Open prepares a node: database, schema, built-in tenants, key-encryption key and
// routes. It returns one-line errors fit to print on exit.
func Open(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	a := &App{Config: cfg, Logger: opts.Logger, Now: opts.Now, node: opts.Node}
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.node == "" {
		host, _ := os.Hostname()
		a.node = host + "-" + secret.ID()[:8]
	}
	// The GeoIP files come first: a bad one stops the start before the database is
	// touched, and they are released if anything later fails.
	if err := a.openGeoIP(); err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			a.closeGeoIP()
		}
	}()
	db, err := sqlstore.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	a.DB = db
	if err := a.prepareSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a.Registry = prometheus.NewRegistry()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Store = newInstrumentedStore(db, a.Registry)
	a.Tenants = &tenant.Service{Store: a.Store, Now: a.Now}
	a.Users = &user.Service{Store: a.Store, Now: a.Now}
	a.Sessions = &session.Manager{Store: a.Store, Now: a.Now, CookieName: cfg.CookieName(), Secure: cfg.Secure()}
	a.Passkeys = &passkey.Service{Store: a.Store, Now: a.Now, BaseURL: cfg.BaseURL, Sessions: a.Sessions, Logger: a.Logger}
	created, err := a.Tenants.EnsureBuiltins(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create built-in tenants: %w", err)
	}
	for _, id := range created {
		a.Logger.Info("created tenant", "tenant", id)
	}
	if err := a.loadKEK(); err != nil {
		db.Close()
		return nil, err
	}
	a.Keys = &keys.KeyManager{Store: a.Store, Sealer: a.Sealer, Now: a.Now}
	a.Clients = &client.Service{Store: a.Store, Now: a.Now}
	a.OTP = &otp.Service{Store: a.Store, Now: a.Now, Key: keys.Derive(a.kek, "gatehouse otp code key v1")}
	a.Recovery = &recovery.Service{Store: a.Store, Now: a.Now, Logger: a.Logger, Sessions: a.Sessions, OTP: a.OTP, BaseURL: cfg.BaseURL}
	// The first passkey a recovery session registers finishes the recovery.
	a.Passkeys.OnRestrictedEnroll = a.Recovery.Complete
	if err := a.buildOutbox(); err != nil {
		db.Close()
		return nil, err
	}
	if a.handler, err = a.routes(); err != nil {
		db.Close()
		return nil, err
	}
	opened = true
	return a, nil
}

// openGeoIP opens the --geoip-db files, if any, as one Locator; a file that is not a
// usable MaxMind DB is a one-line error naming the setting.
func (a *App) openGeoIP() error {
	files := a.Config.GeoIPFiles()
	if len(files) == 0 {
		return nil
	}
	geo, err := geoip.Open(files)
	if oe, ok := errors.AsType[*geoip.OpenError](err); ok {
		return a.Config.GeoIPError(oe.Path, oe.Reason)
	} else if err != nil {
		return a.Config.GeoIPError(a.Config.GeoIPDB, err.Error())
	}
	a.geo, a.GeoIP = geo, geo
	return nil
}

func (a *App) closeGeoIP() {
	if a.geo != nil {
		a.geo.Close()
	}
}

// prepareSchema migrates an empty database, and refuses one that is behind unless
// --auto-migrate was given, so an upgrade never changes a shared schema by surprise.
func (a *App) prepareSchema(ctx context.Context) error {
	current, target, err := a.DB.SchemaState(ctx)
	if err != nil {
		return fmt.Errorf("database %s: %w", sqlstore.Redact(a.Config.Database), err)
	}
	switch {
	case current == target:
		return nil
	case current > target:
		return fmt.Errorf("database schema version %d is newer than this gatehouse (%d): upgrade the binary", current, target)
	case current == 0 || a.Config.AutoMigrate:
		applied, err := a.DB.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, m := range applied {
			a.Logger.Info("applied migration", "version", m.Version, "name", m.Name)
		}
		return nil
	default:
		return fmt.Errorf("database schema is at version %d but this gatehouse needs %d: run `gatehouse migrate` or start with --auto-migrate", current, target)
	}
}

func (a *App) loadKEK() error {
	kek := a.Config.KEK
	if len(kek) == 0 {
		var created bool
		var err error
		kek, created, err = keys.LoadOrCreateKEK(a.Config.KEKFile)
		if err != nil {
			return err
		}
		if created {
			a.Logger.Warn("created a new key-encryption key; back it up, signing keys cannot be read without it", "path", a.Config.KEKFile)
		}
	}
	s, err := keys.NewSealer(kek)
	if err != nil {
		return fmt.Errorf("key-encryption key: %w", err)
	}
	a.Sealer = s
	a.kek = kek
	return nil
}

func (a *App) buildOutbox() error {
	var sender notify.Sender
	if a.Config.SMTPURL != "" {
		s, err := notify.NewSMTPSender(a.Config.SMTPURL, a.Config.SMTPFrom)
		if err != nil {
			return fmt.Errorf("invalid --smtp-url: %w", err)
		}
		sender = s
	} else {
		sender = &notify.MailboxSender{Store: a.Store, Now: a.Now}
	}
	metrics, err := notify.NewMetrics(a.Registry, a.Store)
	if err != nil {
		return err
	}
	a.Outbox = &notify.Worker{
		Store: a.Store, Senders: map[string]notify.Sender{notify.KindEmail: sender}, Owner: a.node,
		Now: a.Now, Logger: a.Logger, Interval: a.Config.OutboxInterval, Metrics: metrics,
	}
	deleted, err := housekeeping.NewMetrics(a.Registry)
	if err != nil {
		return err
	}
	a.Housekeeping = &housekeeping.Janitor{Store: a.Store, Now: a.Now, Logger: a.Logger, Deleted: deleted}
	return nil
}

// DevMailbox reports whether the development mailbox is served: only without an SMTP
// server and only when the base URL is this machine. Behind a reverse proxy on the
// same host every request comes from loopback, so a public base URL never gets it.
func (a *App) DevMailbox() bool {
	if a.Config.SMTPURL != "" {
		return false
	}
	u, err := url.Parse(a.Config.BaseURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Handler returns the node's HTTP handler with every middleware applied.
func (a *App) Handler() http.Handler { return a.handler }

// Serve answers HTTP on ln and runs the background workers until ctx is cancelled,
// then stops accepting requests, lets the ones in flight and the outbox worker's
// current deliveries finish (up to 30 s), and returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.Outbox.Run(workerCtx) })
	wg.Go(func() { a.Housekeeping.Run(workerCtx) })

	errc := make(chan error, 1)
	go func() {
		var err error
		if a.Config.TLSCert != "" {
			err = srv.ServeTLS(ln, a.Config.TLSCert, a.Config.TLSKey)
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		a.Logger.Warn("shutdown did not finish cleanly", "error", err)
	}
	stopWorker()
	wg.Wait()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// Close releases the database and the GeoIP files; call it only once Serve returned.
func (a *App) Close() error {
	a.closeGeoIP()
	return a.DB.Close()
}
