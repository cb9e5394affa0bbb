package recovery

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// Sentences of the email steps. The code step's lead is the same whether or not the
// address has an account (DESIGN.md §4 invariant 6).
const (
	msgEmailMissing  = "Enter your email address."
	msgEmailInvalid  = "Enter an email address like name@example.com."
	msgCodeMalformed = "Enter the 8-digit code from the email."
	msgCodeWrong     = "That code is not right or has expired. Check the newest email, or ask for a new code."
	msgSavedCode     = "Enter one of your saved recovery codes, like ABCD-EFGH-JKLM-NPQR."
)

// startPage is the Data of the "recovery-start" view.
type startPage struct {
	frame
	Email      string
	EmailError string
	// TAPURL is where a person with a help-desk pass goes; empty when passes are off.
	TAPURL string
}

// codePage is the Data of the "recovery-code" view.
type codePage struct {
	frame
	Email string
	Error string
}

// savedCodePage is the Data of the "recovery-saved-code" view.
type savedCodePage struct {
	frame
	Error string
}

func (h *Handlers) startView(r *http.Request, tapOn bool) startPage {
	v := startPage{frame: h.frame(r)}
	if tapOn {
		v.TAPURL = v.Base + "/recover/tap"
	}
	return v
}

// startPage asks for the account's email address.
func (h *Handlers) startPage(w http.ResponseWriter, r *http.Request) {
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	if !SelfServiceAllowed(p) {
		if TAPAllowed(p) {
			redirect(w, r, "/t/"+tenantOf(r).ID+"/recover/tap")
			return
		}
		h.message(w, r, http.StatusNotFound, "Recovery is not available here", ErrDisabled.Error(), "", "")
		return
	}
	h.Renderer.Render(w, r, http.StatusOK, "recovery-start", h.startView(r, TAPAllowed(p)))
}

// selfServiceForm reads the tenant's policy and a posted form of the email steps,
// answering (and reporting false) when self-service recovery is off or the form is
// bad.
func (h *Handlers) selfServiceForm(w http.ResponseWriter, r *http.Request) (tenant.Policy, bool) {
	p, ok := h.policy(w, r)
	if !ok {
		return p, false
	}
	if !SelfServiceAllowed(p) {
		h.message(w, r, http.StatusNotFound, "Recovery is not available here", ErrDisabled.Error(), "", "")
		return p, false
	}
	return p, h.parseForm(w, r)
}

// sendCode sends the recovery code (or, for an address that cannot recover, a note),
// and shows the same code page either way.
func (h *Handlers) sendCode(w http.ResponseWriter, r *http.Request) {
	p, ok := h.selfServiceForm(w, r)
	if !ok {
		return
	}
	raw := r.PostForm.Get("email")
	addr, err := user.NormalizeEmail(raw)
	if raw == "" || err != nil {
		v := h.startView(r, TAPAllowed(p))
		v.Email, v.EmailError = raw, msgEmailInvalid
		if raw == "" {
			v.EmailError = msgEmailMissing
		}
		h.Renderer.Render(w, r, http.StatusBadRequest, "recovery-start", v)
		return
	}
	err = h.Service.SendCode(r.Context(), tenantOf(r), p, addr, clientOf(r))
	if h.throttled(w, r, err, "/t/"+tenantOf(r).ID+"/recover") {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Renderer.Render(w, r, http.StatusOK, "recovery-code", codePage{frame: h.frame(r), Email: addr})
}

// checkCode checks the email code; then either asks for a saved recovery code, or
// starts the restricted session and goes on to create a passkey.
func (h *Handlers) checkCode(w http.ResponseWriter, r *http.Request) {
	p, ok := h.selfServiceForm(w, r)
	if !ok {
		return
	}
	t := tenantOf(r)
	addr, err := user.NormalizeEmail(r.PostForm.Get("email"))
	if err != nil {
		// The address is a hidden field: a person only gets here by editing the page.
		v := h.startView(r, TAPAllowed(p))
		v.Email, v.EmailError = r.PostForm.Get("email"), msgEmailInvalid
		h.Renderer.Render(w, r, http.StatusBadRequest, "recovery-start", v)
		return
	}
	res, err := h.Service.VerifyCode(r.Context(), t.ID, p, addr, r.PostForm.Get("code"), clientOf(r))
	if h.throttled(w, r, err, "/t/"+t.ID+"/recover") {
		return
	}
	switch {
	case errors.Is(err, otp.ErrMalformed):
		h.Renderer.Render(w, r, http.StatusBadRequest, "recovery-code", codePage{frame: h.frame(r), Email: addr, Error: msgCodeMalformed})
		return
	case errors.Is(err, otp.ErrWrongCode):
		h.Renderer.Render(w, r, http.StatusBadRequest, "recovery-code", codePage{frame: h.frame(r), Email: addr, Error: msgCodeWrong})
		return
	case errors.Is(err, ErrPrivileged):
		h.message(w, r, http.StatusForbidden, "Contact your help desk", ErrPrivileged.Error(), "", "")
		return
	case errors.Is(err, ErrDisabled):
		h.message(w, r, http.StatusForbidden, "Recovery is not available here", ErrDisabled.Error(), "", "")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.next(w, r, res)
}

// next sends the browser on after a verified step.
func (h *Handlers) next(w http.ResponseWriter, r *http.Request, res *Verified) {
	t := tenantOf(r)
	if res.Pending != "" {
		h.setPending(w, res.Pending, int(pendingCookieLifetime().Seconds()))
		h.Renderer.Render(w, r, http.StatusOK, "recovery-saved-code", savedCodePage{frame: h.frame(r)})
		return
	}
	h.setPending(w, "", -1)
	h.Service.Sessions.SetCookie(w, res.Token, res.Session)
	redirect(w, r, "/t/"+t.ID+"/recover/passkey")
}

// checkSavedCode checks a saved recovery code for the step the cookie names.
func (h *Handlers) checkSavedCode(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	t := tenantOf(r)
	pending := ""
	if c, err := r.Cookie(h.pendingCookie()); err == nil {
		pending = c.Value
	}
	res, err := h.Service.VerifyRecoveryCode(r.Context(), t.ID, pending, r.PostForm.Get("recovery_code"), clientOf(r))
	if h.throttled(w, r, err, "/t/"+t.ID+"/recover") {
		return
	}
	switch {
	case errors.Is(err, ErrWrongRecoveryCode):
		h.Renderer.Render(w, r, http.StatusBadRequest, "recovery-saved-code", savedCodePage{frame: h.frame(r), Error: ErrWrongRecoveryCode.Error()})
		return
	case errors.Is(err, ErrLinkInvalid):
		h.message(w, r, http.StatusBadRequest, "Start again", "This recovery has expired or was already finished. Start again to get a new email code.",
			"Recover your account", "/t/"+t.ID+"/recover")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.next(w, r, res)
}

// sessionAt returns the request's session when it is restricted (a recovery that has
// yet to create its passkey) exactly when restricted is set. Otherwise it sends the
// browser on, to noSession (under the tenant) without a session and to elsewhere
// with the other kind, and reports false.
func (h *Handlers) sessionAt(w http.ResponseWriter, r *http.Request, restricted bool, noSession, elsewhere string) (*store.Session, bool) {
	base := "/t/" + tenantOf(r).ID
	s, err := h.session(r)
	switch {
	case err != nil:
		h.fail(w, r, err)
		return nil, false
	case s == nil:
		redirect(w, r, base+noSession)
		return nil, false
	case s.Restricted != restricted:
		redirect(w, r, base+elsewhere)
		return nil, false
	}
	return s, true
}

// enrollPage is the Data of the "recovery-passkey" view.
type enrollPage struct {
	frame
	Finish string
	Hold   string
	TAP    bool
}

// passkeyPage lets a restricted session do the one thing it can: create a passkey.
func (h *Handlers) passkeyPage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.sessionAt(w, r, true, "/recover", "/account")
	if !ok {
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	f := h.frame(r)
	h.Renderer.Render(w, r, http.StatusOK, "recovery-passkey", enrollPage{frame: f, Finish: f.Base + "/recover/done",
		Hold: notify.Minutes(p.Recovery.Hold.D()), TAP: s.Flow == session.FlowTAP})
}

// donePage is the Data of the "recovery-done" view.
type donePage struct {
	frame
	HoldUntil  string
	AccountURL string
}

// donePage explains what the finished recovery did and how long the hold lasts.
func (h *Handlers) donePage(w http.ResponseWriter, r *http.Request) {
	s, ok := h.sessionAt(w, r, false, "/signin", "/recover/passkey")
	if !ok {
		return
	}
	t := tenantOf(r)
	var u *store.User
	err := h.Service.Store.View(r.Context(), func(tx store.Tx) error {
		var err error
		u, err = tx.GetUser(r.Context(), t.ID, s.UserID)
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f := h.frame(r)
	v := donePage{frame: f, AccountURL: f.Base + "/account"}
	if OnHold(u, h.Service.Now()) {
		v.HoldUntil = FormatTime(u.HoldUntil)
	}
	h.Renderer.Render(w, r, http.StatusOK, "recovery-done", v)
}
