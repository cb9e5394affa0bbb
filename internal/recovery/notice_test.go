package recovery_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestOperatorNoticesSayAnAdministratorDidIt: the mail a person gets when an operator
// ends their hold or issues them a pass says an administrator did it, names no
// address, and does not tell them "if this was you, there is nothing to do".
func TestOperatorNoticesSayAnAdministratorDidIt(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	op := s.NewUser(t, tenant.System, "op@example.com", user.RoleOperator)
	asOperator := audit.Meta{ActorType: audit.ActorOperator, ActorID: op.ID}
	for _, tc := range []struct {
		name, addr, subject string
		act                 func(t *testing.T, addr string)
		want                []string
	}{
		{"hold ended", "ana@example.com", "hold on your account was lifted",
			func(t *testing.T, addr string) {
				u := s.NewUser(t, "default", addr)
				p := newDevice(s)
				recoverByEmail(t, p, addr)
				if r := p.AddPasskey(t, "New phone"); r.Status != http.StatusOK {
					t.Fatalf("enroll: %d %s", r.Status, r.Body)
				}
				if _, err := s.App.Recovery.EndHold(ctx, "default", u.ID, asOperator); err != nil {
					t.Fatal(err)
				}
			},
			[]string{"Your account's recovery hold was ended early by an administrator"}},
		{"pass issued", "bea@example.com", "temporary access pass",
			func(t *testing.T, addr string) {
				s.NewUser(t, "default", addr)
				_, err := s.App.Recovery.Issue(ctx, recovery.IssueTAP{TenantID: "default", User: addr,
					Operator: recovery.Operator{ID: op.ID}, VerifiedBy: "in person, badge"}, asOperator)
				if err != nil {
					t.Fatal(err)
				}
			},
			[]string{"Your help desk issued a one-time temporary access pass"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.act(t, tc.addr)
			body := mailWith(t, s, tc.addr, tc.subject).Body
			for _, w := range append(tc.want, "By: an administrator", "If you did not expect this, contact your administrator.") {
				if !strings.Contains(body, w) {
					t.Errorf("notice lacks %q:\n%s", w, body)
				}
			}
			for _, w := range []string{"unknown address", "From:", "If this was you", "nothing to do"} {
				if strings.Contains(body, w) {
					t.Errorf("notice says %q:\n%s", w, body)
				}
			}
		})
	}
}
