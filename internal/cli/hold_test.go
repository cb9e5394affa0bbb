package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestUserShowSaysWhetherOnHold: `user show` tells the help desk whether an account
// is on a recovery hold and until when, in text and in --json; once the hold is
// over it says none.
func TestUserShowSaysWhetherOnHold(t *testing.T) {
	g := newMigrated(t)
	g.mustRun("user", "create", "--tenant", "system", "--email", "op@example.com", "--role", "operator")
	ana := mustJSON[userOut](g, "user", "create", "--email", "ana@example.com")

	type holdOut struct {
		OnHold    bool       `json:"on_hold"`
		HoldUntil *time.Time `json:"hold_until"`
	}
	if got := mustJSON[holdOut](g, "user", "show", "ana@example.com"); got.OnHold || got.HoldUntil != nil {
		t.Errorf("user show --json before a hold: %+v", got)
	}
	mustContain(t, "user show before a hold", g.mustRun("user", "show", ana.ID), "hold:     none")

	until := time.Now().Add(36 * time.Hour).UTC().Truncate(time.Second)
	setHold(t, g, ana.ID, until)
	got := mustJSON[holdOut](g, "user", "show", "ana@example.com")
	if !got.OnHold || got.HoldUntil == nil || !got.HoldUntil.Equal(until) {
		t.Errorf("user show --json on hold: %+v, want on_hold until %s", got, until)
	}
	mustContain(t, "user show on hold", g.mustRun("user", "show", ana.ID), "hold:     recovery hold until "+until.Format(time.RFC3339))

	out := g.mustRun("user", "end-hold", "ana@example.com", "--operator", "op@example.com")
	mustContain(t, "end-hold", out, "the hold on user "+ana.ID+" has ended")
	if got := mustJSON[holdOut](g, "user", "show", ana.ID); got.OnHold {
		t.Errorf("user show --json after end-hold: %+v", got)
	}
	mustContain(t, "end-hold of nobody", g.mustFail("user", "end-hold", "ghost@example.com", "--operator", "op@example.com"),
		"user ghost@example.com not found in tenant default")

	// A hold that ran out is no hold.
	setHold(t, g, ana.ID, time.Now().Add(-time.Minute))
	if text := g.mustRun("user", "show", ana.ID); !strings.Contains(text, "hold:     none") {
		t.Errorf("user show after the hold ran out:\n%s", text)
	}
}

// setHold puts user id of the default tenant on a recovery hold until until.
func setHold(t *testing.T, g *gatehouse, id string, until time.Time) {
	t.Helper()
	db := g.openDB()
	defer db.Close()
	err := db.InTx(t.Context(), func(tx store.Tx) error {
		u, err := tx.GetUser(t.Context(), "default", id)
		if err != nil {
			return err
		}
		u.HoldUntil = until
		return tx.UpdateUser(t.Context(), u)
	})
	if err != nil {
		t.Fatal(err)
	}
}
