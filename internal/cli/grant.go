package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/device"
)

// grantCmd manages the token families (grants) applications hold for users.
func (ce *cmdEnv) grantCmd() *cobra.Command {
	c := groupCmd("grant", "Revoke the tokens applications hold for a user")
	var flow, userRef, reason string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke every grant a user obtained through a flow, as a unit",
		Long: "Revoke every live token family (refresh tokens and the access tokens minted from them) that a user\n" +
			"obtained through the given flow. Today the one tracked flow is device_code: use it when a device-code\n" +
			"approval may have been phished.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// Only flows that tokens are tagged with can be revoked by flow; anything else
			// would silently revoke nothing.
			if flow != device.Flow {
				return fmt.Errorf("invalid --flow %q: must be %s", flow, device.Flow)
			}
			if userRef == "" {
				return fmt.Errorf("give --user (an id or email address)")
			}
			svc, done, err := ce.userService(c)
			if err != nil {
				return err
			}
			defer done()
			u, err := ce.findUser(c, svc, userRef)
			if err != nil {
				return err
			}
			n, err := device.RevokeGrants(c.Context(), svc.Store, time.Now(), ce.tenant, u.ID, reason, ce.cliMeta())
			if err != nil {
				return ce.userNotFound(userRef, err)
			}
			if ce.json {
				return ce.printJSON(map[string]any{"tenant": ce.tenant, "user": u.ID, "flow": flow, "revoked": n})
			}
			fmt.Fprintf(ce.Stdout, "revoked %d %s grant%s of user %s in tenant %s\n", n, flow, plural(n), u.ID, ce.tenant)
			return nil
		},
	}
	revoke.Flags().StringVar(&flow, "flow", "", "the flow the grants came from: device_code")
	revoke.Flags().StringVar(&userRef, "user", "", "the user's id or email address")
	revoke.Flags().StringVar(&reason, "reason", "revoked by an operator", "why, for the audit log")
	ce.addTenantFlag(revoke)
	ce.addJSONFlag(revoke)
	c.AddCommand(revoke)
	return c
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
