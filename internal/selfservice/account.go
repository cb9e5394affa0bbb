package selfservice

import (
	"context"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/useragent"
)

// accountPage is the Data of the "account" view.
type accountPage struct {
	frame
	Name string
	// Notice confirms the change that led here; Error says why one failed when the
	// failure belongs to no single row.
	Notice string
	Error  string
	// NeedsEmail puts "Add an email for recovery" at the top.
	NeedsEmail bool
	HasPasskey bool
	// HoldUntil is set while the account is on hold after an enrollment without a
	// passkey; passkeys added then are provisional until it ends.
	HoldUntil     string
	NewEmail      string
	NewEmailError string
	// AddedNext is where the page returns after adding a passkey.
	AddedNext string
	// AppsURL lists the apps the person allowed; empty when no OAuth provider serves it.
	AppsURL string
	// RecoveryCodesURL manages saved recovery codes (empty when no page serves it);
	// RecoveryCodesLeft counts the unused ones.
	RecoveryCodesURL  string
	RecoveryCodesLeft int

	Passkeys []passkeyRow
	Emails   []emailRow
	Sessions []sessionRow
	Activity []activityRow
}

type passkeyRow struct {
	ID, Name, Kind, Created, LastUsed, LastIP string
	Provisional                               bool
	Error                                     string
}

type emailRow struct {
	ID, Value         string
	Verified, Primary bool
	Error             string
}

type sessionRow struct {
	ID, Device, IP, LastSeen, SignedIn, Method string
	Current                                    bool
	Error                                      string
}

// notices are the sentences a finished change shows on the account page, by the
// "done" parameter of the redirect. Only these fixed sentences are ever shown, so
// the parameter cannot put text of its own on the page.
var notices = map[string]string{
	"passkey-added":    "Your new passkey is ready. You can use it to sign in.",
	"passkey-renamed":  "The passkey was renamed.",
	"passkey-removed":  "The passkey was removed. It can no longer be used to sign in.",
	"email-added":      "Your email address is verified and on your account.",
	"email-primary":    "Your primary email address changed.",
	"email-removed":    "The email address was removed from your account.",
	"session-revoked":  "That session was signed out.",
	"sessions-revoked": "Every other session was signed out.",
	"stepped-up":       "Thanks, you confirmed it is you.",
}

// problem is a failed change to show on the account page: Target names the row or
// field it belongs to ("passkey:<id>", "email:<id>", "session:<id>", "new-email"),
// or is empty for the page as a whole.
type problem struct {
	Target, Message string
}

// loadAccount reads everything the account page shows in one read transaction.
func (h *Handlers) loadAccount(ctx context.Context, r *http.Request, s *store.Session) (accountPage, accountState, error) {
	t := tenantOf(r)
	f := h.frame(r, "")
	v := accountPage{frame: f, AddedNext: f.Base + "/account?done=passkey-added"}
	if h.HasRoute != nil && h.HasRoute(http.MethodGet, f.Base+"/account/apps") {
		v.AppsURL = f.Base + "/account/apps"
	}
	if h.HasRoute != nil && h.HasRoute(http.MethodGet, f.Base+"/account/recovery-codes") {
		v.RecoveryCodesURL = f.Base + "/account/recovery-codes"
	}
	var st accountState
	err := h.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if st, err = h.accountState(ctx, tx, t.ID, s.UserID); err != nil {
			return err
		}
		now := h.Now()
		v.Name = st.user.DisplayName
		if st.user.HoldUntil.After(now) {
			v.HoldUntil = formatTime(st.user.HoldUntil)
		}
		creds, err := tx.ListCredentials(ctx, t.ID, s.UserID)
		if err != nil {
			return err
		}
		for _, c := range creds {
			if c.Kind != store.CredPasskey {
				continue
			}
			row := passkeyRow{ID: c.ID, Name: c.Name, Kind: "This device only", Created: formatTime(c.CreatedAt),
				LastUsed: formatTime(c.LastUsedAt), LastIP: c.LastUsedIP, Provisional: c.Provisional && v.HoldUntil != ""}
			if c.BackupEligible {
				row.Kind = "Synced passkey"
			}
			v.Passkeys = append(v.Passkeys, row)
		}
		ids, err := tx.ListIdentifiers(ctx, t.ID, s.UserID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if id.Kind == store.IdentEmail {
				v.Emails = append(v.Emails, emailRow{ID: id.ID, Value: id.Value, Verified: id.Verified, Primary: id.Primary})
			}
		}
		// Primary first, then verified, then the rest, each oldest first.
		slices.SortStableFunc(v.Emails, func(a, b emailRow) int { return rank(b) - rank(a) })
		sessions, err := tx.ListUserSessions(ctx, t.ID, s.UserID, now)
		if err != nil {
			return err
		}
		for _, se := range sessions {
			v.Sessions = append(v.Sessions, sessionRow{ID: se.ID, Device: useragent.Describe(se.UserAgent), IP: se.IP,
				LastSeen: formatTime(se.LastSeenAt), SignedIn: formatTime(se.CreatedAt), Method: methodName(se.AMR),
				Current: se.ID == s.ID})
		}
		// The current session first: it is the one people look for.
		slices.SortStableFunc(v.Sessions, func(a, b sessionRow) int {
			if a.Current == b.Current {
				return 0
			}
			if a.Current {
				return -1
			}
			return 1
		})
		if v.RecoveryCodesURL != "" {
			if v.RecoveryCodesLeft, err = tx.CountRecoveryCodes(ctx, t.ID, s.UserID); err != nil {
				return err
			}
		}
		v.Activity, err = recentActivity(ctx, tx, t.ID, s.UserID)
		return err
	})
	if err != nil {
		return accountPage{}, accountState{}, err
	}
	v.NeedsEmail = !st.verifiedEmail
	v.HasPasskey = st.passkeys > 0
	return v, st, nil
}

func rank(e emailRow) int {
	switch {
	case e.Primary && e.Verified:
		return 2
	case e.Verified:
		return 1
	}
	return 0
}

// methodName says how a session signed in.
func methodName(amr []string) string {
	switch {
	case slices.Contains(amr, session.AMRHardwareKey) || slices.Contains(amr, session.AMRSoftwareKey):
		return "Passkey"
	case slices.Contains(amr, session.AMROTP):
		return "Email code"
	case slices.Contains(amr, session.AMRSMS):
		return "Text message code"
	case slices.Contains(amr, session.AMRPassword):
		return "Password"
	}
	return "Other"
}

// accountPage shows the signed-in person's passkeys, emails, sessions and recent
// security activity.
func (h *Handlers) accountPage(w http.ResponseWriter, r *http.Request) {
	done := r.URL.Query().Get("done")
	h.showAccount(w, r, http.StatusOK, notices[done], problem{})
}

// showAccount renders the account page for the request's session with a notice or a
// problem; without a session it sends the browser to sign in first.
func (h *Handlers) showAccount(w http.ResponseWriter, r *http.Request, status int, notice string, pr problem) {
	t := tenantOf(r)
	s, ok := h.requireSession(w, r, "/t/"+t.ID+"/account")
	if !ok {
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	v, st, err := h.loadAccount(r.Context(), r, s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if passkeyRequired(s, st, p) {
		redirect(w, r, withNext("/t/"+t.ID+"/nudge", "/t/"+t.ID+"/account"))
		return
	}
	v.Notice = notice
	v.apply(pr)
	if pr.Target == "new-email" && r.PostForm != nil {
		v.NewEmail = r.PostForm.Get("email")
	}
	h.render(w, r, status, "account", v)
}

// apply puts a problem beside the row or field it is about.
func (v *accountPage) apply(pr problem) {
	if pr.Message == "" {
		return
	}
	for i := range v.Passkeys {
		if pr.Target == "passkey:"+v.Passkeys[i].ID {
			v.Passkeys[i].Error = pr.Message
			return
		}
	}
	for i := range v.Emails {
		if pr.Target == "email:"+v.Emails[i].ID {
			v.Emails[i].Error = pr.Message
			return
		}
	}
	for i := range v.Sessions {
		if pr.Target == "session:"+v.Sessions[i].ID {
			v.Sessions[i].Error = pr.Message
			return
		}
	}
	if pr.Target == "new-email" {
		v.NewEmailError = pr.Message
		return
	}
	v.Error = pr.Message
}
