package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// withRecovery adds the recovery commands that act on one user to the user group.
func (ce *cmdEnv) withRecovery(users *cobra.Command) *cobra.Command {
	users.AddCommand(ce.endHoldCmd())
	return users
}

func (ce *cmdEnv) endHoldCmd() *cobra.Command {
	var operator string
	c := &cobra.Command{
		Use:   "end-hold USER",
		Short: "End a user's recovery hold early, once you have confirmed the recovery was theirs",
		Args:  oneArg("the user (an id, email address or phone number)"),
		RunE: ce.asOperator(&operator, func(c *cobra.Command, args []string, svc *recovery.Service, op *store.User) error {
			found, err := ce.findUser(c, &user.Service{Store: svc.Store, Now: time.Now}, args[0])
			if err != nil {
				return err
			}
			m := ce.operatorMeta()
			m.ActorType, m.ActorID = audit.ActorOperator, op.ID
			u, err := svc.EndHold(c.Context(), ce.tenant, found.ID, m)
			if errors.Is(err, recovery.ErrNoHold) {
				return fmt.Errorf("user %s is not on hold", found.ID)
			}
			if err != nil {
				return userError("user "+args[0], err)
			}
			if ce.json {
				return ce.printJSON(toUserJSON(u, nil))
			}
			fmt.Fprintf(ce.Stdout, "the hold on user %s has ended\n", u.ID)
			return nil
		}),
	}
	addOperatorFlag(c, &operator)
	ce.addTenantFlag(c)
	ce.addJSONFlag(c)
	return c
}
