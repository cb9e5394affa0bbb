package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func (ce *cmdEnv) auditCmd() *cobra.Command {
	c := groupCmd("audit", "Verify and export the audit log")

	var vtenant string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every tenant's hash chain (exit 1 at the first broken link)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			db, _, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			ids := []string{vtenant}
			if vtenant == "" {
				ts, err := (&tenant.Service{Store: db, Now: time.Now}).List(c.Context())
				if err != nil {
					return err
				}
				ids = ids[:0]
				for _, t := range ts {
					ids = append(ids, t.ID)
				}
			} else if _, err := (&tenant.Service{Store: db, Now: time.Now}).Get(c.Context(), vtenant); err != nil {
				return userError("tenant "+vtenant, err)
			}
			for _, id := range ids {
				brk, n, err := audit.Verify(c.Context(), db, id)
				if err != nil {
					return err
				}
				if brk != nil {
					if ce.json {
						ce.printJSON(map[string]any{"ok": false, "break": brk})
					}
					return &exitError{code: 1, msg: "audit chain broken: " + brk.String()}
				}
				if !ce.json {
					fmt.Fprintf(ce.Stdout, "tenant %s: %d events, chain intact\n", id, n)
				}
			}
			if ce.json {
				return ce.printJSON(map[string]any{"ok": true, "tenants": ids})
			}
			return nil
		},
	}
	verify.Flags().StringVar(&vtenant, "tenant", "", "only this tenant (default: every tenant)")
	ce.addJSONFlag(verify)

	var since, until, format, etenant, typ string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write audit events as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if format != "jsonl" {
				return fmt.Errorf("invalid --format %q: only jsonl is supported", format)
			}
			q := store.AuditQuery{TenantID: etenant, Type: typ}
			var err error
			if q.Since, err = parseWhen("--since", since, time.Now()); err != nil {
				return err
			}
			if q.Until, err = parseWhen("--until", until, time.Now()); err != nil {
				return err
			}
			db, _, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if etenant != "" {
				if _, err := (&tenant.Service{Store: db, Now: time.Now}).Get(c.Context(), etenant); err != nil {
					return userError("tenant "+etenant, err)
				}
			}
			_, err = audit.Export(c.Context(), db, ce.Stdout, q)
			return err
		},
	}
	export.Flags().StringVar(&since, "since", "", "only events at or after this time: RFC 3339, a date (2026-01-31), or a duration ago (24h)")
	export.Flags().StringVar(&until, "until", "", "only events before this time (same forms as --since)")
	export.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl")
	export.Flags().StringVar(&etenant, "tenant", "", "only this tenant (default: every tenant)")
	export.Flags().StringVar(&typ, "type", "", "only this event type, or a family ending in \".\" (session.)")
	c.AddCommand(verify, export)
	return c
}

// parseWhen reads an absolute time or a duration before now.
func parseWhen(flag, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("invalid %s %q: use RFC 3339 (2026-01-31T12:00:00Z), a date (2026-01-31) or a duration (24h)", flag, v)
}
