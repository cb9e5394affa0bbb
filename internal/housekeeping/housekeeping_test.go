package housekeeping_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// TestHousekeepingKeepsLiveAndDeletesEnded runs the janitor of a real node: right
// after sign-up it deletes nothing a signed-in person relies on; a month later it
// deletes the ended session and the spent sign-up artifacts, and the person still
// signs in with their passkey.
func TestHousekeepingKeepsLiveAndDeletesEnded(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	ann := s.NewPerson("default")
	ann.SignUp(t, "Ann")

	got, err := s.App.Housekeeping.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got[store.PurgeSessions] != 0 || got[store.PurgeGrants] != 0 {
		t.Fatalf("right after sign-up housekeeping deleted %v", got)
	}
	if r := ann.Do(t, "GET", "account", nil); r.Status != 200 {
		t.Fatalf("account page after housekeeping: %d, want 200 (the live session was kept)", r.Status)
	}

	clock.Advance(31 * 24 * time.Hour)
	got, err = s.App.Housekeeping.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce a month later: %v", err)
	}
	if got[store.PurgeSessions] < 1 {
		t.Errorf("a month later %d sessions were deleted, want the ended sign-up session", got[store.PurgeSessions])
	}
	if got[store.PurgeArtifacts] < 1 {
		t.Errorf("a month later %d artifacts were deleted, want the spent sign-up challenge and code", got[store.PurgeArtifacts])
	}
	again, err := s.App.Housekeeping.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("second RunOnce: %v", err)
	}
	for what, n := range again {
		if n != 0 {
			t.Errorf("a second round deleted %d %s again", n, what)
		}
	}
	ann.OtherBrowser().SignIn(t)
}
