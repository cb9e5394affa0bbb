package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/oauth"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func (ce *cmdEnv) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the identity provider",
		Long: "Run the identity provider. On an empty database it applies the migrations, creates the\n" +
			"system and default tenants and a key-encryption key, and prints a one-time operator setup link.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := ce.config()
			if err != nil {
				return err
			}
			log := ce.logger(cfg)
			// Libraries that log through the default logger (the OAuth engine) then
			// write the same format to the same place as everything else, less the
			// engine's line per error answer (see oauth.EngineLogFilter).
			slog.SetDefault(slog.New(oauth.EngineLogFilter(log.Handler())))
			ctx := c.Context()
			// Take the port before opening the database, so a port that is already in use
			// fails at once instead of after migrating the schema and creating a key file.
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("cannot listen on --listen %q: %v", cfg.Listen, err)
			}
			defer ln.Close() // Serve closes it on shutdown; this covers the early returns.
			cfg.BaseURL = boundBaseURL(cfg.BaseURL, ln.Addr())
			a, err := app.Open(ctx, cfg, app.Options{Logger: log})
			if err != nil {
				return err
			}
			defer a.Close()
			fmt.Fprintf(ce.Stdout, "Gatehouse is running at %s\n", cfg.BaseURL)
			fmt.Fprintf(ce.Stdout, "Default tenant issuer: %s\n", cfg.Issuer(tenant.Default))
			link, err := a.SetupLink(ctx)
			if err != nil {
				return err
			}
			if link != "" {
				fmt.Fprintf(ce.Stdout, "Operator setup link (single use, expires in %s): %s\n", app.SetupLinkTTL, link)
			}
			switch {
			case a.DevMailbox():
				fmt.Fprintf(ce.Stdout, "No --smtp-url: mail is kept at %s/dev/mailbox (readable from this machine only)\n", cfg.BaseURL)
			case cfg.SMTPURL == "":
				log.Warn("no --smtp-url: mail cannot be delivered, and the development mailbox is only served on a localhost base URL")
			}
			log.Info("listening", "addr", ln.Addr().String(), "database", a.DB.Dialect())
			err = a.Serve(ctx, ln)
			log.Info("stopped")
			return err
		},
	}
}

// boundBaseURL replaces port 0 in a base URL derived from "--listen HOST:0" with the
// port the listener was given, so the printed links, the issuers and the passkey
// origin name a server that can be reached. Any other base URL is returned as it is.
func boundBaseURL(base string, addr net.Addr) string {
	u, err := url.Parse(base)
	tcp, ok := addr.(*net.TCPAddr)
	if err != nil || !ok || u.Port() != "0" {
		return base
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(tcp.Port))
	return u.String()
}

func (ce *cmdEnv) migrateCmd() *cobra.Command {
	var dryRun bool
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, err := ce.config()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), 10*time.Minute)
			defer cancel()
			db, err := sqlstore.Open(ctx, cfg.Database)
			if err != nil {
				return err
			}
			defer db.Close()
			if dryRun {
				ms, err := db.Migrations(ctx)
				if err != nil {
					return err
				}
				pending := 0
				for _, m := range ms {
					if !m.Applied {
						pending++
						fmt.Fprintf(ce.Stdout, "would apply %d %s\n", m.Version, m.Name)
					}
				}
				if pending == 0 {
					fmt.Fprintln(ce.Stdout, "schema is up to date")
				}
				return nil
			}
			applied, err := db.Migrate(ctx)
			if err != nil {
				return err
			}
			for _, m := range applied {
				fmt.Fprintf(ce.Stdout, "applied %d %s\n", m.Version, m.Name)
			}
			// The administration commands default to the built-in tenants, so a database
			// prepared by migrate alone must have them as one prepared by serve does.
			created, err := (&tenant.Service{Store: db, Now: time.Now}).EnsureBuiltins(ctx)
			if err != nil {
				return fmt.Errorf("create built-in tenants: %w", err)
			}
			for _, id := range created {
				fmt.Fprintf(ce.Stdout, "created tenant %s\n", id)
			}
			if len(applied) == 0 && len(created) == 0 {
				fmt.Fprintln(ce.Stdout, "schema is up to date")
			}
			return nil
		},
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "list the migrations that would be applied, change nothing")
	return c
}
