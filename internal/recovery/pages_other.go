package recovery

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// tapPageData is the Data of the "recovery-tap" view.
type tapPageData struct {
	frame
	Error string
}

// tapPage is where a person types the pass the help desk gave them.
func (h *Handlers) tapPage(w http.ResponseWriter, r *http.Request) {
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	if !TAPAllowed(p) {
		h.message(w, r, http.StatusNotFound, "Passes are not used here", ErrDisabled.Error(), "", "")
		return
	}
	h.Renderer.Render(w, r, http.StatusOK, "recovery-tap", tapPageData{frame: h.frame(r)})
}

// tapSignIn redeems a pass and starts the restricted session it grants.
func (h *Handlers) tapSignIn(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	t := tenantOf(r)
	token, sess, err := h.Service.SignInWithTAP(r.Context(), t.ID, r.PostForm.Get("pass"), clientOf(r))
	if h.throttled(w, r, err, "/t/"+t.ID+"/recover/tap") {
		return
	}
	switch {
	case errors.Is(err, ErrTAPInvalid), errors.Is(err, ErrTAPAwaitingApproval):
		h.Renderer.Render(w, r, http.StatusBadRequest, "recovery-tap", tapPageData{frame: h.frame(r), Error: err.Error()})
		return
	case errors.Is(err, ErrDisabled):
		h.message(w, r, http.StatusNotFound, "Passes are not used here", ErrDisabled.Error(), "", "")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.Service.Sessions.SetCookie(w, token, sess)
	redirect(w, r, "/t/"+t.ID+"/recover/passkey")
}

// notMeData is the Data of the "recovery-not-me" view.
type notMeData struct {
	frame
	Token string
}

// notMePage shows what "This wasn't me" will do and asks to confirm. It changes
// nothing, so a mail scanner that follows the link does no harm.
func (h *Handlers) notMePage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	// The token is in the URL: keep it out of any page this one links to.
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := h.Service.CheckRepudiation(r.Context(), tenantOf(r).ID, token); err != nil {
		if errors.Is(err, ErrLinkInvalid) {
			h.message(w, r, http.StatusNotFound, "This link no longer works", ErrLinkInvalid.Error(), "", "")
			return
		}
		h.fail(w, r, err)
		return
	}
	h.Renderer.Render(w, r, http.StatusOK, "recovery-not-me", notMeData{frame: h.frame(r), Token: token})
}

// notMe acts on a confirmed "This wasn't me".
func (h *Handlers) notMe(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	res, err := h.Service.Repudiate(r.Context(), tenantOf(r).ID, r.PostForm.Get("token"), clientOf(r))
	if errors.Is(err, ErrLinkInvalid) {
		h.message(w, r, http.StatusNotFound, "This link no longer works", ErrLinkInvalid.Error(), "", "")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Whoever pressed the button may hold one of the sessions just revoked.
	h.Service.Sessions.ClearCookie(w)
	msg := "We signed out every session and application, and locked the account. Contact your administrator: once they have checked who you are, they will unlock it and help you add a new passkey."
	if res.CredentialsRemoved > 0 {
		msg = "We removed the passkey the recovery added, signed out every session and application, and locked the account. Contact your administrator: once they have checked who you are, they will unlock it and help you add a new passkey."
	}
	h.message(w, r, http.StatusOK, "Your account is locked for your safety", msg, "", "")
}

// codesData is the Data of the "recovery-codes" view.
type codesData struct {
	frame
	Left int
	// Codes is the new set, shown once right after it is made.
	Codes      []string
	HoldUntil  string
	NeedStepUp bool
	HasPasskey bool
	Error      string
	AccountURL string
}

// codesPage shows how many recovery codes are left and offers a new set.
func (h *Handlers) codesPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.accountSession(w, r)
	if !ok {
		return
	}
	v, err := h.codesView(r, s)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Renderer.Render(w, r, http.StatusOK, "recovery-codes", v)
}

func (h *Handlers) codesView(r *http.Request, s *store.Session) (codesData, error) {
	f := h.frame(r)
	v := codesData{frame: f, AccountURL: f.Base + "/account"}
	err := h.Service.Store.View(r.Context(), func(tx store.Tx) error {
		u, err := tx.GetUser(r.Context(), s.TenantID, s.UserID)
		if err != nil {
			return err
		}
		if s.Flow == session.FlowProvisional && OnHold(u, h.Service.Now()) {
			v.HoldUntil = FormatTime(u.HoldUntil)
		}
		creds, err := tx.ListCredentials(r.Context(), s.TenantID, s.UserID)
		if err != nil {
			return err
		}
		v.HasPasskey = len(creds) > 0
		v.Left, err = tx.CountRecoveryCodes(r.Context(), s.TenantID, s.UserID)
		return err
	})
	return v, err
}

// generateCodes makes a new set of recovery codes after a fresh passkey confirmation.
func (h *Handlers) generateCodes(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	s, ok := h.accountSession(w, r)
	if !ok {
		return
	}
	codes, err := h.Service.GenerateCodes(r.Context(), s, clientOf(r))
	v, verr := h.codesView(r, s)
	if verr != nil {
		h.fail(w, r, verr)
		return
	}
	var he *HoldError
	switch {
	case errors.As(err, &he):
		v.Error = he.Error()
		h.Renderer.Render(w, r, http.StatusForbidden, "recovery-codes", v)
	case errors.Is(err, ErrStepUp):
		v.NeedStepUp = true
		h.Renderer.Render(w, r, http.StatusForbidden, "recovery-codes", v)
	case errors.Is(err, ErrDisabled):
		v.Error = "Recovery codes are turned off here."
		h.Renderer.Render(w, r, http.StatusForbidden, "recovery-codes", v)
	case err != nil:
		h.fail(w, r, err)
	default:
		v.Codes, v.Left = codes, len(codes)
		h.Renderer.Render(w, r, http.StatusOK, "recovery-codes", v)
	}
}

// accountSession returns the signed-in, unrestricted session, or answers for it.
func (h *Handlers) accountSession(w http.ResponseWriter, r *http.Request) (*store.Session, bool) {
	t := tenantOf(r)
	s, err := h.session(r)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	if s == nil {
		redirect(w, r, "/t/"+t.ID+"/signin?next=/t/"+t.ID+"/account/recovery-codes")
		return nil, false
	}
	if s.Restricted {
		h.message(w, r, http.StatusForbidden, "Finish recovering your account first",
			"This session can only create a new passkey for your account. Create it, and then you can use the rest of your account.",
			"Create your new passkey", "/t/"+t.ID+"/recover/passkey")
		return nil, false
	}
	return s, true
}
