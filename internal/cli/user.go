package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

type identJSON struct {
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Verified bool   `json:"verified"`
	Primary  bool   `json:"primary"`
}

type userJSON struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	DisplayName string    `json:"display_name"`
	Status      string    `json:"status"`
	Roles       []string  `json:"roles"`
	CreatedAt   time.Time `json:"created_at"`
	// OnHold reports a recovery hold running now; HoldUntil is when it ends.
	OnHold      bool        `json:"on_hold"`
	HoldUntil   *time.Time  `json:"hold_until,omitempty"`
	Identifiers []identJSON `json:"identifiers,omitempty"`
}

// listPage is the most users the store returns from one List call.
const listPage = 1000

func toUserJSON(u *store.User, ids []store.Identifier) userJSON {
	out := userJSON{ID: u.ID, Tenant: u.TenantID, DisplayName: u.DisplayName, Status: u.Status, Roles: u.Roles, CreatedAt: u.CreatedAt}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if recovery.OnHold(u, time.Now()) {
		until := u.HoldUntil.UTC()
		out.OnHold, out.HoldUntil = true, &until
	}
	for _, i := range ids {
		out.Identifiers = append(out.Identifiers, identJSON{i.Kind, i.Value, i.Verified, i.Primary})
	}
	return out
}

// userService opens the store and checks the tenant exists, so a typo in --tenant
// says so instead of "user not found".
func (ce *cmdEnv) userService(c *cobra.Command) (*user.Service, func(), error) {
	db, _, err := ce.openStore(c.Context())
	if err != nil {
		return nil, nil, err
	}
	if _, err := (&tenant.Service{Store: db, Now: time.Now}).Get(c.Context(), ce.tenant); err != nil {
		db.Close()
		return nil, nil, userError("tenant "+ce.tenant, err)
	}
	return &user.Service{Store: db, Now: time.Now}, func() { db.Close() }, nil
}

// findUser resolves ref (an id, email address or phone number) in the command's
// tenant; when there is no such user it says which one, and where it looked.
func (ce *cmdEnv) findUser(c *cobra.Command, svc *user.Service, ref string) (*store.User, error) {
	u, err := svc.Find(c.Context(), ce.tenant, ref)
	if err != nil {
		return nil, ce.userNotFound(ref, err)
	}
	return u, nil
}

// userNotFound is userError for the user a command names by ref.
func (ce *cmdEnv) userNotFound(ref string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("user %s not found in tenant %s", ref, ce.tenant)
	}
	return userError("user "+ref, err)
}

func (ce *cmdEnv) userCmd() *cobra.Command {
	c := groupCmd("user", "Create, list, show, lock, unlock and disable users")

	var in user.NewUser
	var roles []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if in.Email == "" && in.Phone == "" {
				return fmt.Errorf("give --email or --phone")
			}
			svc, done, err := ce.userService(c)
			if err != nil {
				return err
			}
			defer done()
			in.Roles = roles
			u, err := svc.Create(c.Context(), ce.tenant, in, ce.cliMeta())
			if err != nil {
				return userError("user", err)
			}
			if ce.json {
				u, ids, err := svc.Get(c.Context(), ce.tenant, u.ID)
				if err != nil {
					return err
				}
				return ce.printJSON(toUserJSON(u, ids))
			}
			fmt.Fprintf(ce.Stdout, "created user %s in tenant %s\n", u.ID, ce.tenant)
			return nil
		},
	}
	create.Flags().StringVar(&in.Email, "email", "", "email address")
	create.Flags().BoolVar(&in.EmailVerified, "email-verified", false, "mark the email as verified (you checked it yourself)")
	create.Flags().StringVar(&in.Phone, "phone", "", "phone number in international form, e.g. +15551234567")
	create.Flags().StringVar(&in.DisplayName, "name", "", "display name")
	create.Flags().StringSliceVar(&roles, "role", nil, "role: operator or admin (repeatable)")
	ce.addTenantFlag(create)
	ce.addJSONFlag(create)

	var q store.UserQuery
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			// A misspelt filter would list nobody and look like a true answer.
			switch q.Status {
			case "", store.UserActive, store.UserLocked, store.UserDisabled:
			default:
				return fmt.Errorf("invalid --status %q: must be active, locked or disabled", q.Status)
			}
			if q.Role != "" && !user.ValidRole(q.Role) {
				return fmt.Errorf("invalid --role %q: must be operator or admin", q.Role)
			}
			if q.Limit < 0 {
				return fmt.Errorf("invalid --limit %d: must be 0 (all) or more", q.Limit)
			}
			svc, done, err := ce.userService(c)
			if err != nil {
				return err
			}
			defer done()
			var out []userJSON
			page := q
			for {
				if q.Limit > 0 {
					page.Limit = q.Limit - len(out)
				}
				us, err := svc.List(c.Context(), ce.tenant, page)
				if err != nil {
					return err
				}
				for i := range us {
					out = append(out, toUserJSON(&us[i], nil))
				}
				// The store returns at most listPage users a call, fewer only on the last page.
				if len(us) < listPage || (q.Limit > 0 && len(out) >= q.Limit) {
					break
				}
				page.After = us[len(us)-1].ID
			}
			if ce.json {
				if out == nil {
					out = []userJSON{}
				}
				return ce.printJSON(out)
			}
			tw := tabwriter.NewWriter(ce.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tROLES\tCREATED")
			for _, u := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.DisplayName, u.Status, strings.Join(u.Roles, ","), u.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&q.Status, "status", "", "only users with this status: active, locked, disabled")
	list.Flags().StringVar(&q.Role, "role", "", "only users with this role")
	list.Flags().IntVar(&q.Limit, "limit", 0, "at most this many users (0: all)")
	ce.addTenantFlag(list)
	ce.addJSONFlag(list)

	show := &cobra.Command{
		Use:   "show USER",
		Short: "Show a user (by id, email or phone)",
		Args:  oneArg("the user (an id, email address or phone number)"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, done, err := ce.userService(c)
			if err != nil {
				return err
			}
			defer done()
			found, err := ce.findUser(c, svc, args[0])
			if err != nil {
				return err
			}
			u, ids, err := svc.Get(c.Context(), ce.tenant, found.ID)
			if err != nil {
				return err
			}
			out := toUserJSON(u, ids)
			if ce.json {
				return ce.printJSON(out)
			}
			fmt.Fprintf(ce.Stdout, "id:       %s\ntenant:   %s\nname:     %s\nstatus:   %s\nroles:    %s\ncreated:  %s\n",
				u.ID, u.TenantID, u.DisplayName, u.Status, strings.Join(out.Roles, ","), u.CreatedAt.Format(time.RFC3339))
			hold := "none"
			if out.OnHold {
				hold = "recovery hold until " + out.HoldUntil.Format(time.RFC3339)
			}
			fmt.Fprintf(ce.Stdout, "hold:     %s\n", hold)
			for _, i := range out.Identifiers {
				state := "unverified"
				if i.Verified {
					state = "verified"
				}
				fmt.Fprintf(ce.Stdout, "%-9s %s (%s)\n", i.Kind+":", i.Value, state)
			}
			return nil
		},
	}
	ce.addTenantFlag(show)
	ce.addJSONFlag(show)

	c.AddCommand(create, list, show,
		ce.statusCmd("lock", "Lock a user and end their sessions", store.UserLocked),
		ce.statusCmd("unlock", "Unlock a locked or disabled user", store.UserActive),
		ce.statusCmd("disable", "Disable a user and end their sessions", store.UserDisabled))
	return c
}

func (ce *cmdEnv) statusCmd(verb, short, status string) *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use:   verb + " USER",
		Short: short,
		Args:  oneArg("the user (an id, email address or phone number)"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, done, err := ce.userService(c)
			if err != nil {
				return err
			}
			defer done()
			found, err := ce.findUser(c, svc, args[0])
			if err != nil {
				return err
			}
			u, err := svc.SetStatus(c.Context(), ce.tenant, found.ID, status, reason, ce.cliMeta())
			if err != nil {
				return userError("user "+args[0], err)
			}
			if ce.json {
				return ce.printJSON(toUserJSON(u, nil))
			}
			fmt.Fprintf(ce.Stdout, "user %s is now %s\n", u.ID, u.Status)
			return nil
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit log)")
	ce.addTenantFlag(c)
	ce.addJSONFlag(c)
	return c
}
