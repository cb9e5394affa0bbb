package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// The command line has the database itself, so whoever runs it is fully trusted; the
// --operator it names is recorded on every audit event so the log says which person
// issued or approved a pass. The admin API is the authenticated, remote path.

// operatorEnv is the environment variable --operator defaults to.
const operatorEnv = "GATEHOUSE_OPERATOR"

type tapJSON struct {
	ID            string    `json:"id"`
	Tenant        string    `json:"tenant"`
	User          string    `json:"user"`
	IssuedBy      string    `json:"issued_by"`
	VerifiedBy    string    `json:"verified_by"`
	NeedsApproval bool      `json:"needs_approval"`
	ApprovedBy    string    `json:"approved_by,omitempty"`
	State         string    `json:"state"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	// Pass is set only in the answer to issue: it is shown once and never stored.
	Pass string `json:"pass,omitempty"`
}

// tapWords spells a pass's state in words for the terminal's table; --json keeps
// the admin API's machine spelling ("awaiting_approval"), so scripts read one form.
func tapWords(state string) string {
	return strings.ReplaceAll(state, "_", " ")
}

func toTAPJSON(p *store.TAP, now time.Time) tapJSON {
	return tapJSON{ID: p.ID, Tenant: p.TenantID, User: p.UserID, IssuedBy: p.IssuedBy, VerifiedBy: p.VerifiedBy,
		NeedsApproval: p.NeedsApproval, ApprovedBy: p.ApprovedBy, State: recovery.TAPState(p, now), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt}
}

// recoveryService opens the store for a recovery command, checks the tenant exists
// and, when needOperator is set, resolves --operator to an active operator.
func (ce *cmdEnv) recoveryService(c *cobra.Command, operatorRef string, needOperator bool) (*recovery.Service, *store.User, func(), error) {
	db, _, err := ce.openStore(c.Context())
	if err != nil {
		return nil, nil, nil, err
	}
	done := func() { db.Close() }
	if _, err := (&tenant.Service{Store: db, Now: time.Now}).Get(c.Context(), ce.tenant); err != nil {
		done()
		return nil, nil, nil, userError("tenant "+ce.tenant, err)
	}
	var op *store.User
	if needOperator {
		if operatorRef == "" {
			operatorRef, _ = ce.LookupEnv(operatorEnv)
		}
		if operatorRef == "" {
			done()
			return nil, nil, nil, fmt.Errorf("say who you are with --operator (or %s): an operator or admin of the system tenant", operatorEnv)
		}
		if op, err = findOperator(c.Context(), db, operatorRef); err != nil {
			done()
			return nil, nil, nil, err
		}
	}
	return &recovery.Service{Store: db, Now: time.Now}, op, done, nil
}

// asOperator is the RunE of a recovery command that acts as the operator named by
// *operator: run gets the service and that operator, and the store closes after.
func (ce *cmdEnv) asOperator(operator *string, run func(c *cobra.Command, args []string, svc *recovery.Service, op *store.User) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		svc, op, done, err := ce.recoveryService(c, *operator, true)
		if err != nil {
			return err
		}
		defer done()
		return run(c, args, svc, op)
	}
}

// addOperatorFlag adds --operator, naming who runs a recovery command.
func addOperatorFlag(cmd *cobra.Command, operator *string) {
	cmd.Flags().StringVar(operator, "operator", "", "you: the id or email of an operator or admin in the system tenant (default $"+operatorEnv+")")
}

func findOperator(ctx context.Context, db *sqlstore.DB, ref string) (*store.User, error) {
	var op *store.User
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		op, err = recovery.FindOperator(ctx, tx, ref, time.Now())
		return err
	})
	if errors.Is(err, recovery.ErrNotOperator) || errors.Is(err, recovery.ErrOperatorOnHold) {
		return nil, fmt.Errorf("operator %q: %v", ref, err)
	}
	return op, err
}

// operatorMeta is the audit Meta of a CLI command acting as an operator; the service
// sets the actor to the operator, and the user agent keeps the host account.
func (ce *cmdEnv) operatorMeta() audit.Meta {
	m := ce.cliMeta()
	return audit.Meta{UserAgent: "gatehouse command line (host user " + m.ActorID + ")"}
}

// tapError turns the service's errors into one line for the terminal.
func tapError(err error) error {
	var ie *recovery.InvalidError
	var nf *recovery.NotFoundError
	switch {
	case errors.Is(err, recovery.ErrVerifiedBy):
		return fmt.Errorf("give --verified-by: %v", err)
	case errors.As(err, &ie):
		return errors.New(ie.Msg)
	case errors.As(err, &nf):
		return errors.New(nf.Msg)
	case errors.Is(err, recovery.ErrSameOperator), errors.Is(err, recovery.ErrNotOperator),
		errors.Is(err, recovery.ErrAlreadyApproved), errors.Is(err, recovery.ErrNoApprovalNeeded),
		errors.Is(err, recovery.ErrTAPNotLive), errors.Is(err, recovery.ErrUserNotActive), errors.Is(err, recovery.ErrOwnPass),
		errors.Is(err, recovery.ErrOperatorOnHold):
		return err
	}
	return userError("pass", err)
}

func (ce *cmdEnv) tapCmd() *cobra.Command {
	c := groupCmd("tap", "Issue, approve, list and revoke help-desk temporary access passes")
	var operator string
	addOperator := func(cmd *cobra.Command) { addOperatorFlag(cmd, &operator) }

	var in recovery.IssueTAP
	issue := &cobra.Command{
		Use:   "issue",
		Short: "Issue a one-time pass that lets a person who lost every passkey create a new one",
		Long: "Issue a one-time temporary access pass for --user after checking who they are, and say how with --verified-by.\n" +
			"The pass is printed once and never stored. For an operator or admin the pass works only once a second,\n" +
			"different operator ran `gatehouse tap approve`. Signing in with it is a recovery: the account goes on hold.",
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if in.User == "" {
				return errors.New("give --user (an id or email address)")
			}
			return nil
		},
		RunE: ce.asOperator(&operator, func(c *cobra.Command, _ []string, svc *recovery.Service, op *store.User) error {
			in.TenantID, in.Operator = ce.tenant, recovery.Operator{ID: op.ID}
			res, err := svc.Issue(c.Context(), in, ce.operatorMeta())
			if err != nil {
				return tapError(err)
			}
			out := toTAPJSON(res.TAP, time.Now())
			out.Pass = res.Pass
			if ce.json {
				return ce.printJSON(out)
			}
			fmt.Fprintf(ce.Stdout, "pass:     %s\nid:       %s\nuser:     %s\nexpires:  %s\n", res.Pass, out.ID, out.User, out.ExpiresAt.Format(time.RFC3339))
			if res.TAP.NeedsApproval {
				fmt.Fprintf(ce.Stdout, "state:    awaiting approval: a different operator must run `gatehouse tap approve %s --tenant %s`\n", out.ID, ce.tenant)
			}
			fmt.Fprintf(ce.Stdout, "Give the pass to the person over the channel you verified; it is not shown again.\n")
			return nil
		}),
	}
	issue.Flags().StringVar(&in.User, "user", "", "the person's user id or email address")
	issue.Flags().StringVar(&in.VerifiedBy, "verified-by", "", "how you checked the person's identity (recorded in the audit log)")
	issue.Flags().DurationVar(&in.TTL, "ttl", 0, "how long the pass works (default 1h, at most the policy's recovery.tap_max_lifetime)")
	addOperator(issue)
	ce.addTenantFlag(issue)
	ce.addJSONFlag(issue)

	approve := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve a pass for an operator or admin (as a second, different operator)",
		Args:  oneArg("the pass ID"),
		RunE: ce.asOperator(&operator, func(c *cobra.Command, args []string, svc *recovery.Service, op *store.User) error {
			p, err := svc.Approve(c.Context(), ce.tenant, args[0], recovery.Operator{ID: op.ID}, ce.operatorMeta())
			if err != nil {
				return tapError(err)
			}
			if ce.json {
				return ce.printJSON(toTAPJSON(p, time.Now()))
			}
			fmt.Fprintf(ce.Stdout, "pass %s approved by %s; it now works until %s\n", p.ID, op.ID, p.ExpiresAt.Format(time.RFC3339))
			return nil
		}),
	}
	addOperator(approve)
	ce.addTenantFlag(approve)
	ce.addJSONFlag(approve)

	var live bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List passes, newest first",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			svc, _, done, err := ce.recoveryService(c, "", false)
			if err != nil {
				return err
			}
			defer done()
			ps, err := svc.ListTAPs(c.Context(), ce.tenant, live)
			if err != nil {
				return err
			}
			now := time.Now()
			out := []tapJSON{}
			for i := range ps {
				out = append(out, toTAPJSON(&ps[i], now))
			}
			if ce.json {
				return ce.printJSON(out)
			}
			tw := tabwriter.NewWriter(ce.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tSTATE\tISSUED BY\tAPPROVED BY\tEXPIRES")
			for _, p := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.User, tapWords(p.State), p.IssuedBy, p.ApprovedBy, p.ExpiresAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&live, "live", false, "only passes that can still be used")
	ce.addTenantFlag(list)
	ce.addJSONFlag(list)

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Withdraw a pass that has not been used",
		Args:  oneArg("the pass ID"),
		RunE: ce.asOperator(&operator, func(c *cobra.Command, args []string, svc *recovery.Service, op *store.User) error {
			if err := svc.Revoke(c.Context(), ce.tenant, args[0], recovery.Operator{ID: op.ID}, ce.operatorMeta()); err != nil {
				return tapError(err)
			}
			fmt.Fprintf(ce.Stdout, "pass %s revoked\n", args[0])
			return nil
		}),
	}
	addOperator(revoke)
	ce.addTenantFlag(revoke)

	c.AddCommand(issue, approve, list, revoke)
	return c
}
