package cli_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestGrantRevokeByFlow: `grant revoke --flow device_code` revokes every live
// device-flow token family of the user as a unit, leaves the user's other grants and
// other users alone, and says how many it revoked.
func TestGrantRevokeByFlow(t *testing.T) {
	g := newMigrated(t)
	created := mustJSON[struct {
		ID string `json:"id"`
	}](g, "user", "create", "--email", "ana@example.com", "--json")
	other := mustJSON[struct {
		ID string `json:"id"`
	}](g, "user", "create", "--email", "bo@example.com", "--json")
	db := g.openDB()
	now := time.Now()
	grant := func(id, userID, flow string) *store.Grant {
		return &store.Grant{ID: id, TenantID: "default", ClientID: "tv", UserID: userID, SessionID: "s", Scope: "openid",
			AuthTime: now, AuthFlow: flow, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	err := db.InTx(t.Context(), func(tx store.Tx) error {
		for _, gr := range []*store.Grant{grant("d1", created.ID, "device_code"), grant("d2", created.ID, "device_code"),
			grant("n1", created.ID, ""), grant("d3", other.ID, "device_code")} {
			if err := tx.CreateGrant(t.Context(), gr); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	out := g.mustRun("grant", "revoke", "--flow", "device_code", "--user", created.ID, "--reason", "phishing report")
	mustContain(t, "grant revoke", out, "revoked 2 device_code grants of user "+created.ID)
	again := mustJSON[struct {
		Revoked int `json:"revoked"`
	}](g, "grant", "revoke", "--flow", "device_code", "--user", created.ID, "--json")
	if again.Revoked != 0 {
		t.Errorf("second revoke revoked %d, want 0", again.Revoked)
	}
	// --user takes an email address too, as tap issue and user end-hold do.
	byEmail := mustJSON[struct {
		User    string `json:"user"`
		Revoked int    `json:"revoked"`
	}](g, "grant", "revoke", "--flow", "device_code", "--user", "Ana@example.com")
	if byEmail.User != created.ID || byEmail.Revoked != 0 {
		t.Errorf("revoke by email = %+v, want user %s and nothing left to revoke", byEmail, created.ID)
	}
	db = g.openDB()
	defer db.Close()
	err = db.View(t.Context(), func(tx store.Tx) error {
		for id, revoked := range map[string]bool{"d1": true, "d2": true, "n1": false, "d3": false} {
			gr, err := tx.GetGrant(t.Context(), "default", id)
			if err != nil {
				return err
			}
			if got := !gr.RevokedAt.IsZero(); got != revoked {
				t.Errorf("grant %s revoked = %v, want %v", id, got, revoked)
			}
		}
		ev, err := tx.QueryAudit(t.Context(), store.AuditQuery{TenantID: "default", Type: "device.grants_revoked"})
		if len(ev) != 3 || ev[0].ActorID != operatorName {
			t.Errorf("want three device.grants_revoked events by the operator, got %+v", ev)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flow", []string{"grant", "revoke", "--flow", "password", "--user", created.ID}, "invalid --flow"},
		{"no user", []string{"grant", "revoke", "--flow", "device_code"}, "give --user"},
		{"unknown user", []string{"grant", "revoke", "--flow", "device_code", "--user", "nobody"}, "user nobody not found in tenant default"},
		{"unknown email", []string{"grant", "revoke", "--flow", "device_code", "--user", "ghost@example.com"}, "user ghost@example.com not found in tenant default"},
		{"user of another tenant", []string{"grant", "revoke", "--flow", "device_code", "--user", created.ID, "--tenant", "system"},
			"user " + created.ID + " not found in tenant system"},
		{"unknown tenant", []string{"grant", "revoke", "--flow", "device_code", "--user", created.ID, "--tenant", "nope"}, "tenant nope not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustContain(t, tc.name, g.mustFail(tc.args...), tc.want)
		})
	}
}
