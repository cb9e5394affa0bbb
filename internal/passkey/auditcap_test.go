package passkey_test

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestFailedCeremonyFloodIsCountedNotRecordedOneByOne: a network sending junk
// sign-in answers gets its first failures recorded one by one, then one
// audit.failures_suppressed event, and nothing more in that window — while a
// person elsewhere still signs in and is recorded.
func TestFailedCeremonyFloodIsCountedNotRecordedOneByOne(t *testing.T) {
	s := apptest.Start(t)
	ana := s.NewPerson("default")
	ana.SignUp(t, "Ana")
	mallory := s.NewPerson("default")
	for range 45 {
		if r := mallory.Do(t, "POST", "api/passkey/login/finish", `{"id":"x","rawId":"x","type":"public-key","response":{}}`); r.Status != 400 {
			t.Fatalf("junk sign-in answer: %d %s, want 400", r.Status, r.Body)
		}
	}
	count := func(typ string) int {
		var evs []store.AuditEvent
		s.App.Store.View(t.Context(), func(tx store.Tx) error {
			var err error
			evs, err = tx.QueryAudit(t.Context(), store.AuditQuery{TenantID: "default", Type: typ})
			return err
		})
		return len(evs)
	}
	if n := count(audit.SignInFailed); n != 20 {
		t.Errorf("%d signin.failed events recorded for 45 junk answers, want the first 20", n)
	}
	if n := count(audit.FailuresSuppressed); n != 1 {
		t.Errorf("%d audit.failures_suppressed events, want 1", n)
	}
	// Loopback shares one network, so the flood's cap also covers this sign-in's
	// failures — but successes are never capped.
	before := count(audit.SignInSucceeded)
	ana.OtherBrowser().SignIn(t)
	if n := count(audit.SignInSucceeded); n != before+1 {
		t.Errorf("a sign-in during the flood was not recorded: %d → %d", before, n)
	}
}
