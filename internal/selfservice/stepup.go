package selfservice

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// stepUpPage is the Data of the "stepup" view: "Confirm it's you" in front of a
// security change, which it repeats once the person has confirmed.
type stepUpPage struct {
	frame
	// What finishes "To … , confirm it's you".
	What string
	// Action and Fields repeat the change's form, posted again after confirming.
	Action string
	Fields []field
	// HasPasskey is false for an account that can only sign in again.
	HasPasskey bool
	AccountURL string
}

type field struct{ Name, Value string }

// maxRepeatedFields bounds what the confirm page copies from the original form.
const maxRepeatedFields = 8

// confirmed reports whether the session may make a security change now. A change needs
// a passkey assertion within the policy's step-up age; an account that has no passkey
// cannot give one, so for it a sign-in that recent is enough (the same rule the
// passkey service applies to a first enrollment). Otherwise it shows the confirm page
// and returns false.
func (h *Handlers) confirmed(w http.ResponseWriter, r *http.Request, s *store.Session, st accountState, p tenant.Policy, what string) bool {
	now := h.Now()
	if s.Flow == session.FlowProvisional && st.user.HoldUntil.After(now) {
		// Confirming with the provisional passkey would not help: explain the hold.
		h.render(w, r, http.StatusForbidden, "message", messagePage{frame: h.frame(r, ""),
			Title: "Your account is on hold",
			Message: "Your account was recovered recently, so until " + formatTime(st.user.HoldUntil) + " this session cannot " + what +
				". The hold gives you time to notice if someone else recovered it. Sign in with a passkey you had before the recovery, wait for the hold to end, or ask an administrator to end it early.",
			LinkText: "Back to your account", LinkURL: "/t/" + tenantOf(r).ID + "/account"})
		return false
	}
	if passkey.RequireStepUp(s, p, now) == nil {
		return true
	}
	if st.passkeys == 0 && !s.Restricted && session.Fresh(s, now, p.Sessions.StepUpAge.D()) {
		return true
	}
	h.askConfirm(w, r, st.passkeys > 0, what)
	return false
}

// askConfirm shows the confirm page for the change the request asked for.
func (h *Handlers) askConfirm(w http.ResponseWriter, r *http.Request, hasPasskey bool, what string) {
	f := h.frame(r, "")
	v := stepUpPage{frame: f, What: what, Action: r.URL.Path, HasPasskey: hasPasskey, AccountURL: f.Base + "/account"}
	for name, values := range r.PostForm {
		for _, val := range values {
			v.Fields = append(v.Fields, field{name, val})
		}
	}
	// Sorted, so that the page is the same for the same form whatever order the map
	// gives; a form longer than any of ours is cut rather than copied whole.
	slices.SortStableFunc(v.Fields, func(a, b field) int { return cmp.Compare(a.Name, b.Name) })
	if len(v.Fields) > maxRepeatedFields {
		v.Fields = v.Fields[:maxRepeatedFields]
	}
	h.render(w, r, http.StatusForbidden, "stepup", v)
}

// accountContext is what every account change starts from.
type accountContext struct {
	s  *store.Session
	p  tenant.Policy
	st accountState
}

// beginChange parses the form, finds the session (or sends the browser to sign in),
// reads the policy and the account. It reports false when it has answered already.
func (h *Handlers) beginChange(w http.ResponseWriter, r *http.Request) (accountContext, bool) {
	if !h.parseForm(w, r) {
		return accountContext{}, false
	}
	t := tenantOf(r)
	s, ok := h.requireSession(w, r, "/t/"+t.ID+"/account")
	if !ok {
		return accountContext{}, false
	}
	p, ok := h.policy(w, r)
	if !ok {
		return accountContext{}, false
	}
	var st accountState
	err := h.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		st, err = h.accountState(r.Context(), tx, t.ID, s.UserID)
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return accountContext{}, false
	}
	if passkeyRequired(s, st, p) {
		redirect(w, r, withNext("/t/"+t.ID+"/nudge", "/t/"+t.ID+"/account"))
		return accountContext{}, false
	}
	return accountContext{s: s, p: p, st: st}, true
}

func (h *Handlers) done(w http.ResponseWriter, r *http.Request, what string) {
	redirect(w, r, "/t/"+tenantOf(r).ID+"/account?done="+what)
}
