package user

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/useragent"
)

// Notice is a security notification about a change to an account.
type Notice struct {
	// Key makes the notice idempotent (one message per address per key).
	Key     string
	Subject string
	// What happened, in one or two sentences.
	What string
	At   time.Time
	// Where the change came from.
	IP, UserAgent string
	// ByAdministrator says an operator made the change (help desk, command line or
	// admin API), not someone signed in to the account: the notice then names the
	// administrator instead of an address, and does not suggest the reader did it.
	ByAdministrator bool
}

// NotifyVerifiedEmails queues the notice to every verified email of the user inside
// tx, so the notice is sent if and only if the change commits. It returns how many
// addresses were notified. Extra addresses (e.g. a just-replaced old address) are
// notified too.
func NotifyVerifiedEmails(ctx context.Context, tx store.Tx, tenantID, userID string, n Notice, extra ...string) (int, error) {
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return 0, err
	}
	to := map[string]bool{}
	for _, id := range ids {
		if id.Kind == store.IdentEmail && id.Verified {
			to[id.Value] = true
		}
	}
	for _, e := range extra {
		to[e] = true
	}
	body := noticeBody(n)
	for addr := range to {
		if err := notify.QueueEmail(ctx, tx, tenantID, n.Key+":"+addr, notify.Email{To: addr, Subject: n.Subject, Text: body}, n.At); err != nil {
			return 0, err
		}
	}
	return len(to), nil
}

// noticeBody is the text of n: what happened, when, by whom or from where, and what
// to do if it was not expected.
func noticeBody(n Notice) string {
	when := n.At.UTC().Format("Mon, 2 Jan 2006 15:04 MST")
	if n.ByAdministrator {
		return fmt.Sprintf("%s\n\nWhen: %s\nBy: an administrator\n\n"+
			"If you did not expect this, contact your administrator.\n", n.What, when)
	}
	where := n.IP
	if where == "" {
		where = "an unknown address"
	}
	if n.UserAgent != "" {
		// Described in our own words: the header is the requester's to choose, and
		// a notice must not carry their text to the account's owner.
		where += " (" + useragent.Describe(n.UserAgent) + ")"
	}
	return fmt.Sprintf("%s\n\nWhen: %s\nFrom: %s\n\nIf this was you, there is nothing to do.\n"+
		"If it was not you, sign in and review your passkeys and sessions at once, or contact your administrator.\n",
		n.What, when, where)
}
