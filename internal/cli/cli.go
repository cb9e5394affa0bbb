// Package cli is the gatehouse command line: serve, migrate and the administration
// commands. Every command prints one line to stderr and exits non-zero on failure,
// and the listing commands print JSON with --json for scripts.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// Version is set at build time with -ldflags "-X …/internal/cli.Version=v1.2.3".
var Version = ""

// Env is what a command may touch outside itself.
type Env struct {
	Stdout, Stderr io.Writer
	LookupEnv      func(string) (string, bool)
}

// exitError carries a specific exit code (audit verify uses 1 for a broken chain).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.LookupEnv == nil {
		env.LookupEnv = func(string) (string, bool) { return "", false }
	}
	root := newRoot(env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(env.Stderr, "gatehouse: "+oneLine(ee.msg))
		}
		return ee.code
	}
	fmt.Fprintln(env.Stderr, "gatehouse: "+oneLine(err.Error()))
	return 1
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

type cmdEnv struct {
	Env
	binding *config.Binding
	json    bool
	tenant  string
}

func newRoot(env Env) *cobra.Command {
	ce := &cmdEnv{Env: env}
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: a passwordless-first identity provider",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	ce.binding = config.Bind(root.PersistentFlags())
	root.AddCommand(ce.serveCmd(), ce.migrateCmd(), ce.versionCmd(), ce.tenantCmd(), ce.withRecovery(ce.userCmd()), ce.auditCmd(), ce.clientCmd(), ce.keysCmd(), ce.tapCmd())
	root.AddCommand(ce.policyCmd())
	root.AddCommand(ce.grantCmd())
	return root
}

// groupCmd returns a command that only holds subcommands. Given no arguments it
// prints its help; given a word that is no subcommand it fails, where cobra would
// print the help and exit 0, so a mistyped "tenant delet acme" in a script is an error.
func groupCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
		},
	}
}

// oneArg is the Args of every command that takes exactly one positional argument,
// named by what (such as "the pass ID"). Cobra's own check says only "accepts 1
// arg(s), received 0"; this one names what is missing and how the command is used,
// in one line.
func oneArg(what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		// Run already starts the line with "gatehouse: ".
		name := strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
		switch {
		case len(args) == 0:
			return fmt.Errorf("%s: missing %s (usage: %s)", name, what, usageLine(c))
		case len(args) > 1:
			return fmt.Errorf("%s: takes only %s, got %d arguments (usage: %s)", name, what, len(args), usageLine(c))
		}
		return nil
	}
}

// usageLine is how c is typed: its path, its positional arguments as its Use names
// them, then its own flags, those taking a value first.
func usageLine(c *cobra.Command) string {
	parts := []string{c.CommandPath()}
	if _, rest, ok := strings.Cut(c.Use, " "); ok {
		parts = append(parts, rest)
	}
	var switches []string
	c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		switch {
		case f.Hidden || f.Name == "help":
		case f.Value.Type() == "bool":
			switches = append(switches, "[--"+f.Name+"]")
		default:
			parts = append(parts, "[--"+f.Name+" "+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))+"]")
		}
	})
	return strings.Join(append(parts, switches...), " ")
}

// config loads and validates the configuration.
func (ce *cmdEnv) config() (config.Config, error) {
	return ce.binding.Load(ce.LookupEnv)
}

// logger builds the process logger from the configuration.
func (ce *cmdEnv) logger(cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level()}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(ce.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(ce.Stderr, opts))
}

// openStore opens the configured database for an administration command, refusing a
// schema that is behind (run migrate) so no command writes to a half-upgraded database.
// It never creates a SQLite file: only serve and migrate do, so a mistyped path is
// named as such instead of leaving an empty database behind.
func (ce *cmdEnv) openStore(ctx context.Context) (*sqlstore.DB, config.Config, error) {
	cfg, err := ce.config()
	if err != nil {
		return nil, cfg, err
	}
	db, err := sqlstore.OpenExisting(ctx, cfg.Database)
	if errors.Is(err, sqlstore.ErrNoDatabase) {
		return nil, cfg, fmt.Errorf("there is no database at %s: create one with `gatehouse migrate` "+
			"(or `gatehouse serve`, which creates and migrates it)", strings.TrimPrefix(cfg.Database, "sqlite:"))
	}
	if err != nil {
		return nil, cfg, err
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		if errors.Is(err, store.ErrSchemaBehind) {
			return nil, cfg, fmt.Errorf("%v: run `gatehouse migrate` first", err)
		}
		return nil, cfg, err
	}
	return db, cfg, nil
}

func (ce *cmdEnv) printJSON(v any) error {
	enc := json.NewEncoder(ce.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (ce *cmdEnv) addJSONFlag(c *cobra.Command) {
	c.Flags().BoolVar(&ce.json, "json", false, "print JSON instead of text")
}

func (ce *cmdEnv) addTenantFlag(c *cobra.Command) {
	c.Flags().StringVar(&ce.tenant, "tenant", tenant.Default, "tenant id")
}

// cliMeta names the operator acting from the command line in audit events.
// It reads USER through Env like every other setting, so the caller decides what the
// command sees of the process environment.
func (ce *cmdEnv) cliMeta() audit.Meta {
	name, _ := ce.LookupEnv("USER")
	return audit.CLI(name)
}

// userError turns domain and store errors into sentences for the terminal.
func userError(what string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s not found", what)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%s already exists", what)
	case errors.Is(err, tenant.ErrInvalid), errors.Is(err, user.ErrInvalid):
		return errors.New(strings.TrimPrefix(err.Error(), "invalid: "))
	}
	return err
}

func (ce *cmdEnv) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(ce.Stdout, "gatehouse", versionString())
			return nil
		},
	}
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		if v != "" {
			return v + " " + bi.GoVersion
		}
	}
	return "(devel)"
}
