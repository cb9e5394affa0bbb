package selfservice

import (
	"context"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// nudgePage is the Data of the "nudge" view, the "Sign in faster" prompt shown after
// a sign-in that did not use a passkey.
type nudgePage struct {
	frame
	HasPasskey bool
	// CanSkip offers "Skip for now" to an account without a passkey; SkipsLeft says
	// how often.
	CanSkip   bool
	SkipsLeft int
	// Fresh is false when the sign-in is too old to add a first passkey without
	// signing in again.
	Fresh bool
	// NeedEmail asks for a verified email for recovery.
	NeedEmail  bool
	AccountURL string
	// Hold says how long a passkey added now stays provisional.
	Hold  string
	Error string
}

// accountState is what the nudge and the account page need to know about a user.
type accountState struct {
	user          *store.User
	passkeys      int
	verifiedEmail bool
}

func (h *Handlers) accountState(ctx context.Context, tx store.Tx, tenantID, userID string) (accountState, error) {
	u, err := tx.GetUser(ctx, tenantID, userID)
	if err != nil {
		return accountState{}, err
	}
	st := accountState{user: u}
	creds, err := tx.ListCredentials(ctx, tenantID, userID)
	if err != nil {
		return accountState{}, err
	}
	for _, c := range creds {
		if c.Kind == store.CredPasskey {
			st.passkeys++
		}
	}
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return accountState{}, err
	}
	for _, id := range ids {
		if id.Kind == store.IdentEmail && id.Verified {
			st.verifiedEmail = true
		}
	}
	return st, nil
}

// canSkip reports whether the prompt may still be dismissed.
func canSkip(st accountState, p tenant.Policy) bool {
	return st.user.NudgeSkips < p.Sessions.NudgeSkips
}

// passkeyRequired reports whether the session may go nowhere but the prompt: it did
// not use a passkey, the account has none, and the prompt was skipped as often as
// the policy allows.
func passkeyRequired(s *store.Session, st accountState, p tenant.Policy) bool {
	return !session.UsedPasskey(s) && st.passkeys == 0 && !canSkip(st, p)
}

func (h *Handlers) nudgeView(r *http.Request, s *store.Session, st accountState, p tenant.Policy, next string) nudgePage {
	f := h.frame(r, next)
	v := nudgePage{
		frame: f, HasPasskey: st.passkeys > 0, CanSkip: canSkip(st, p),
		SkipsLeft: max(p.Sessions.NudgeSkips-st.user.NudgeSkips, 0),
		Fresh:     session.Fresh(s, h.Now(), p.Sessions.StepUpAge.D()),
		NeedEmail: !st.verifiedEmail, AccountURL: f.Base + "/account#emails", Hold: notify.Minutes(p.Recovery.Hold.D()),
	}
	return v
}

// nudgePage offers to create a passkey after a sign-in that used something else.
func (h *Handlers) nudgePage(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	next := safeNext(t.ID, r.URL.Query().Get("next"))
	s, ok := h.requireSession(w, r, withNext("/t/"+t.ID+"/nudge", next))
	if !ok {
		return
	}
	if session.UsedPasskey(s) {
		redirect(w, r, orDefault(t.ID, next))
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	var st accountState
	err := h.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		st, err = h.accountState(r.Context(), tx, t.ID, s.UserID)
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "nudge", h.nudgeView(r, s, st, p, next))
}

// nudgeSkip dismisses the prompt: counted against the policy's limit for an account
// without a passkey, refused once the limit is reached.
func (h *Handlers) nudgeSkip(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	t := tenantOf(r)
	next := safeNext(t.ID, r.PostForm.Get("next"))
	s, ok := h.requireSession(w, r, withNext("/t/"+t.ID+"/nudge", next))
	if !ok {
		return
	}
	if session.UsedPasskey(s) {
		redirect(w, r, orDefault(t.ID, next))
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var st accountState
	skipped := false
	err := h.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		skipped = false
		if st, err = h.accountState(ctx, tx, t.ID, s.UserID); err != nil {
			return err
		}
		if st.passkeys > 0 {
			// Nothing to create: the account has a passkey and the person chose another
			// way this once. That costs no skip.
			skipped = true
			return nil
		}
		if !canSkip(st, p) {
			return nil
		}
		st.user.NudgeSkips++
		st.user.UpdatedAt = store.Micro(h.Now())
		if err := tx.UpdateUser(ctx, st.user); err != nil {
			return err
		}
		skipped = true
		return audit.Record(ctx, tx, h.Now(), meta(r, s.UserID, s.ID), audit.Entry{
			Type: audit.NudgeSkipped, TenantID: t.ID, TargetType: "user", TargetID: s.UserID,
			Details: map[string]int{"skips": st.user.NudgeSkips, "allowed": p.Sessions.NudgeSkips},
		})
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if skipped {
		redirect(w, r, orDefault(t.ID, next))
		return
	}
	v := h.nudgeView(r, s, st, p, next)
	v.Error = "You have skipped this step as often as allowed. Create a passkey to continue, or sign out."
	h.render(w, r, http.StatusForbidden, "nudge", v)
}
