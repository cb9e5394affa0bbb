package user_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestNoticeSaysWhoMadeTheChange checks the two kinds of security notice: a change
// made from a browser says where it came from and "if this was you, there is nothing
// to do"; a change an administrator made says so, names no address, and does not
// suggest the reader did it.
func TestNoticeSaysWhoMadeTheChange(t *testing.T) {
	for _, tc := range []struct {
		name        string
		notice      user.Notice
		want, never []string
	}{
		{"from a browser",
			user.Notice{What: "A passkey was added.", IP: "192.0.2.7", UserAgent: "test-browser"},
			[]string{"A passkey was added.", "From: 192.0.2.7", "If this was you, there is nothing to do."},
			[]string{"By: an administrator"}},
		{"from an unknown place",
			user.Notice{What: "A passkey was added."},
			[]string{"From: an unknown address", "If this was you"}, nil},
		{"by an administrator",
			user.Notice{What: "Your account's recovery hold was ended early by an administrator.", ByAdministrator: true},
			[]string{"ended early by an administrator", "By: an administrator",
				"If you did not expect this, contact your administrator."},
			[]string{"From:", "unknown address", "If this was you", "nothing to do"}},
		{"by an administrator, address ignored",
			user.Notice{What: "A pass was issued.", IP: "203.0.113.9", ByAdministrator: true},
			[]string{"By: an administrator"}, []string{"203.0.113.9", "From:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFixture(t)
			u := f.mustCreate(t, "acme", user.NewUser{Email: "ana@example.com", EmailVerified: true})
			n := tc.notice
			n.Key, n.Subject, n.At = "notice-test", "About your account", f.now
			err := f.db.InTx(context.Background(), func(tx store.Tx) error {
				_, err := user.NotifyVerifiedEmails(context.Background(), tx, "acme", u.ID, n)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			ms := f.outbox(t)
			if len(ms) != 1 || ms[0].To != "ana@example.com" {
				t.Fatalf("outbox: %+v", ms)
			}
			for _, w := range tc.want {
				if !strings.Contains(ms[0].Text, w) {
					t.Errorf("notice lacks %q:\n%s", w, ms[0].Text)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(ms[0].Text, w) {
					t.Errorf("notice says %q:\n%s", w, ms[0].Text)
				}
			}
		})
	}
}
