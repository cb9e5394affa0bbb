package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

type tenantJSON struct {
	ID          string         `json:"id"`
	DisplayName string         `json:"display_name"`
	CreatedAt   time.Time      `json:"created_at"`
	Issuer      string         `json:"issuer"`
	Policy      *tenant.Policy `json:"policy,omitempty"`
}

func (ce *cmdEnv) tenantCmd() *cobra.Command {
	c := groupCmd("tenant", "Create, list and show tenants")
	var name string
	create := &cobra.Command{
		Use:   "create ID",
		Short: "Create a tenant with the secure default policy",
		Args:  oneArg("the tenant ID"),
		RunE: func(c *cobra.Command, args []string) error {
			db, cfg, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			svc := &tenant.Service{Store: db, Now: time.Now}
			t, err := svc.Create(c.Context(), args[0], name, ce.cliMeta())
			if err != nil {
				return userError("tenant "+args[0], err)
			}
			if ce.json {
				return ce.printJSON(tenantJSON{t.ID, t.DisplayName, t.CreatedAt, cfg.Issuer(t.ID), nil})
			}
			fmt.Fprintf(ce.Stdout, "created tenant %s (issuer %s)\n", t.ID, cfg.Issuer(t.ID))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name (default: the id)")
	ce.addJSONFlag(create)

	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			db, cfg, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			ts, err := (&tenant.Service{Store: db, Now: time.Now}).List(c.Context())
			if err != nil {
				return err
			}
			out := make([]tenantJSON, 0, len(ts))
			for _, t := range ts {
				out = append(out, tenantJSON{t.ID, t.DisplayName, t.CreatedAt, cfg.Issuer(t.ID), nil})
			}
			if ce.json {
				return ce.printJSON(out)
			}
			tw := tabwriter.NewWriter(ce.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED\tISSUER")
			for _, t := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.DisplayName, t.CreatedAt.Format(time.RFC3339), t.Issuer)
			}
			return tw.Flush()
		},
	}
	ce.addJSONFlag(list)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a tenant and its current policy",
		Args:  oneArg("the tenant ID"),
		RunE: func(c *cobra.Command, args []string) error {
			db, cfg, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			svc := &tenant.Service{Store: db, Now: time.Now}
			t, err := svc.Get(c.Context(), args[0])
			if err != nil {
				return userError("tenant "+args[0], err)
			}
			p, err := svc.Policy(c.Context(), t.ID)
			if err != nil {
				return err
			}
			out := tenantJSON{t.ID, t.DisplayName, t.CreatedAt, cfg.Issuer(t.ID), &p}
			if ce.json {
				return ce.printJSON(out)
			}
			fmt.Fprintf(ce.Stdout, "id:       %s\nname:     %s\ncreated:  %s\nissuer:   %s\npolicy:   version %d\n",
				t.ID, t.DisplayName, t.CreatedAt.Format(time.RFC3339), out.Issuer, p.Version)
			fmt.Fprintf(ce.Stdout, "sign-in:  passkey=%v email_code=%v sms=%v password=%v\n",
				p.Methods.Passkey.SignIn, p.Flows.EmailCodeSignIn && p.Methods.EmailCode.SignIn, p.Methods.SMS.SignIn, p.Methods.Password.SignIn)
			fmt.Fprintf(ce.Stdout, "flows:    authorization_code=%v refresh_token=%v client_credentials=%v device_code=%v self_service_recovery=%v helpdesk_tap=%v\n",
				p.Flows.AuthorizationCode, p.Flows.RefreshToken, p.Flows.ClientCredentials, p.Flows.DeviceCode,
				p.Flows.SelfServiceRecovery, p.Flows.HelpdeskTAP)
			return nil
		},
	}
	ce.addJSONFlag(show)
	c.AddCommand(create, list, show)
	return c
}
