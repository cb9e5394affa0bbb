package recovery_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestNotMeAfterTwoRecoveriesRemovesBothPasskeys: an attacker who recovers the
// account twice gets two provisional passkeys, and the owner gets two notices. The
// newest notice's "This wasn't me" removes both passkeys, not only the last one.
func TestNotMeAfterTwoRecoveriesRemovesBothPasskeys(t *testing.T) {
	s := apptest.Start(t)
	const addr = "ana@example.com"
	victim := accountHolder(t, s, "Ana Lima", addr)
	userID := victim.Session(t).UserID
	mine := credentials(t, s, "default", userID)
	for i, name := range []string{"Attacker laptop", "Attacker phone"} {
		attacker := newDevice(s)
		recoverByEmail(t, attacker, addr)
		if r := attacker.AddPasskey(t, name); r.Status != http.StatusOK {
			t.Fatalf("recovery %d: enroll: %d %s", i+1, r.Status, r.Body)
		}
	}
	if n := len(credentials(t, s, "default", userID)); n != 3 {
		t.Fatalf("account has %d passkeys, want the owner's and two of the attacker's", n)
	}
	link := notMeURL(t, s, mailWith(t, s, addr, "was recovered")) // the newest notice
	expect(t, "confirm", s.NewPerson("default").Post(t, "recover/not-me", "token", mustQuery(t, link, "token")),
		http.StatusOK, "Your account is locked")
	left := credentials(t, s, "default", userID)
	if len(left) != 1 || left[0].ID != mine[0].ID {
		t.Fatalf("passkeys after \"This wasn't me\": %d left, want only the owner's %s: %+v", len(left), mine[0].ID, left)
	}
}

// TestHeldOperatorCannotActOnPassesOrItsOwnHold: an operator whose own account is on
// a recovery hold (perhaps recovered by someone else) can neither issue nor approve a
// pass, and nobody can end the hold on their own account.
func TestHeldOperatorCannotActOnPassesOrItsOwnHold(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	held := s.NewUser(t, tenant.System, "held@example.com", user.RoleOperator)
	other := s.NewUser(t, tenant.System, "other@example.com", user.RoleOperator)
	s.NewUser(t, "default", "boss@example.com", user.RoleAdmin)
	s.NewUser(t, "default", "ana@example.com")
	err := s.App.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, tenant.System, held.ID)
		if err != nil {
			return err
		}
		u.HoldUntil = s.App.Now().Add(24 * time.Hour)
		return tx.UpdateUser(ctx, u)
	})
	if err != nil {
		t.Fatal(err)
	}
	m := audit.Meta{UserAgent: "test"}
	if _, err := s.App.Recovery.Issue(ctx, recovery.IssueTAP{TenantID: "default", User: "ana@example.com",
		Operator: recovery.Operator{ID: held.ID}, VerifiedBy: "video call"}, m); !errors.Is(err, recovery.ErrOperatorOnHold) {
		t.Fatalf("an operator on hold issued a pass: %v", err)
	}
	issued, err := s.App.Recovery.Issue(ctx, recovery.IssueTAP{TenantID: "default", User: "boss@example.com",
		Operator: recovery.Operator{ID: other.ID}, VerifiedBy: "video call"}, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Recovery.Approve(ctx, "default", issued.TAP.ID, recovery.Operator{ID: held.ID}, m); !errors.Is(err, recovery.ErrOperatorOnHold) {
		t.Fatalf("an operator on hold approved a pass: %v", err)
	}
	err = s.App.Store.View(ctx, func(tx store.Tx) error {
		_, err := recovery.FindOperator(ctx, tx, "held@example.com", s.App.Now())
		return err
	})
	if !errors.Is(err, recovery.ErrOperatorOnHold) {
		t.Fatalf("the command line would act as an operator on hold: %v", err)
	}
	own := audit.Meta{ActorType: audit.ActorOperator, ActorID: held.ID}
	if _, err := s.App.Recovery.EndHold(ctx, tenant.System, held.ID, own); !errors.Is(err, recovery.ErrOwnHold) {
		t.Fatalf("an operator ended their own hold: %v", err)
	}
	if u, _ := s.User(t, tenant.System, held.ID); !recovery.OnHold(u, s.App.Now()) {
		t.Fatal("the hold is gone")
	}
	if _, err := s.App.Recovery.EndHold(ctx, tenant.System, held.ID, audit.Meta{ActorType: audit.ActorOperator, ActorID: other.ID}); err != nil {
		t.Fatalf("another operator ending the hold: %v", err)
	}
}

// TestPassForAnAccountThatBecameAdminNeedsApproval: a pass issued for an ordinary
// account does not work once that account has been made an admin, since no second
// operator looked at it.
func TestPassForAnAccountThatBecameAdminNeedsApproval(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	op := s.NewUser(t, tenant.System, "op@example.com", user.RoleOperator)
	ana := s.NewUser(t, "default", "ana@example.com")
	issued, err := s.App.Recovery.Issue(ctx, recovery.IssueTAP{TenantID: "default", User: "ana@example.com",
		Operator: recovery.Operator{ID: op.ID}, VerifiedBy: "in person, badge"}, audit.Meta{})
	if err != nil || issued.TAP.NeedsApproval {
		t.Fatalf("ordinary pass: %+v %v", issued, err)
	}
	err = s.App.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, "default", ana.ID)
		if err != nil {
			return err
		}
		u.Roles = []string{user.RoleAdmin}
		return tx.UpdateUser(ctx, u)
	})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "the pass after the promotion", s.NewPerson("default").Post(t, "recover/tap", "pass", issued.Pass),
		http.StatusBadRequest, "not valid")
	if n := len(s.Events(t, "default", audit.RecoveryStarted)); n != 0 {
		t.Fatalf("%d recoveries started with an unapproved pass for an admin", n)
	}
}
