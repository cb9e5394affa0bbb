package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// rotationJSON is the --json form of a rotation.
type rotationJSON struct {
	Tenant      string    `json:"tenant"`
	Alg         string    `json:"alg"`
	KID         string    `json:"kid"`
	ActivatesAt time.Time `json:"activates_at"`
	PreviousKID string    `json:"previous_kid,omitempty"`
	RetireUntil time.Time `json:"previous_retire_until,omitzero"`
	Deleted     []string  `json:"deleted"`
}

// sealer loads the key-encryption key. Unlike serve it never creates one: a command
// run on another host than the servers would seal new keys under a key they lack.
func sealer(cfg config.Config) (*keys.Sealer, error) {
	kek := cfg.KEK
	if len(kek) == 0 {
		if _, err := os.Stat(cfg.KEKFile); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("key-encryption key %s does not exist: start `gatehouse serve` once to create it, "+
				"or point --kek-file (or GATEHOUSE_KEK) at the servers' key", cfg.KEKFile)
		}
		var err error
		if kek, _, err = keys.LoadOrCreateKEK(cfg.KEKFile); err != nil {
			return nil, err
		}
	}
	return keys.NewSealer(kek)
}

func (ce *cmdEnv) keysCmd() *cobra.Command {
	c := groupCmd("keys", "List and rotate tenants' token signing keys")

	var alg string
	var overlap, maxLifetime time.Duration
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Publish a new signing key now and sign with it after the overlap",
		Long: "Publish a new signing key in the tenant's JWKS now and start signing with it once the overlap has\n" +
			"passed, so relying parties that cache the JWKS learn it first. The key it replaces stops signing\n" +
			"then and stays published until every token it signed has expired (--max-token-lifetime).\n" +
			"--overlap 0 switches at once, for a key that must stop signing now.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if maxLifetime <= 0 {
				return fmt.Errorf("invalid --max-token-lifetime %v: must be positive", maxLifetime)
			}
			db, cfg, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := sealer(cfg)
			if err != nil {
				return err
			}
			m := &keys.KeyManager{Store: db, Sealer: s, Now: time.Now, MaxTokenLifetime: maxLifetime}
			r, err := m.Rotate(c.Context(), ce.tenant, alg, overlap, ce.cliMeta())
			if err != nil {
				return clientError("tenant "+ce.tenant, err)
			}
			if ce.json {
				return ce.printJSON(rotationJSON{Tenant: ce.tenant, Alg: r.Alg, KID: r.KID, ActivatesAt: r.ActivatesAt,
					PreviousKID: r.PreviousKID, RetireUntil: r.RetireUntil, Deleted: emptyIfNil(r.Deleted)})
			}
			if r.PreviousKID == "" {
				fmt.Fprintf(ce.Stdout, "created %s key %s for tenant %s; it signs from now on\n", r.Alg, r.KID, ce.tenant)
			} else {
				fmt.Fprintf(ce.Stdout, "published %s key %s for tenant %s; it signs from %s\n", r.Alg, r.KID, ce.tenant,
					r.ActivatesAt.Format(time.RFC3339))
				fmt.Fprintf(ce.Stdout, "key %s stops signing then and leaves the JWKS at %s\n", r.PreviousKID,
					r.RetireUntil.Format(time.RFC3339))
			}
			for _, kid := range r.Deleted {
				fmt.Fprintf(ce.Stdout, "deleted key %s, which had left the JWKS\n", kid)
			}
			return nil
		},
	}
	rotate.Flags().StringVar(&alg, "alg", keys.ES256, "algorithm of the key to rotate: ES256 or RS256")
	rotate.Flags().DurationVar(&overlap, "overlap", 24*time.Hour, "how long the new key is published before it signs")
	rotate.Flags().DurationVar(&maxLifetime, "max-token-lifetime", keys.DefaultMaxTokenLifetime,
		"the longest lifetime of any token the old key signed; it stays published this long after it stops signing")
	ce.addTenantFlag(rotate)
	ce.addJSONFlag(rotate)

	list := &cobra.Command{
		Use:   "list",
		Short: "List a tenant's signing keys and their state (next, active, retired, expired)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			db, _, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := (&tenant.Service{Store: db, Now: time.Now}).Get(c.Context(), ce.tenant); err != nil {
				return userError("tenant "+ce.tenant, err)
			}
			// Listing needs no private key, so no key-encryption key either.
			ks, err := (&keys.KeyManager{Store: db, Now: time.Now}).Keys(c.Context(), ce.tenant)
			if err != nil {
				return err
			}
			if ce.json {
				return ce.printJSON(ks)
			}
			if len(ks) == 0 {
				fmt.Fprintf(ce.Stdout, "tenant %s has no signing keys yet; the server creates them when it first needs one\n", ce.tenant)
				return nil
			}
			when := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return t.Format(time.RFC3339)
			}
			tw := tabwriter.NewWriter(ce.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tSIGNS UNTIL\tPUBLISHED UNTIL")
			for _, k := range ks {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.State, when(k.CreatedAt),
					when(k.ActivatesAt), when(k.RetiresAt), when(k.RetireUntil))
			}
			return tw.Flush()
		},
	}
	ce.addTenantFlag(list)
	ce.addJSONFlag(list)

	c.AddCommand(rotate, list)
	return c
}
