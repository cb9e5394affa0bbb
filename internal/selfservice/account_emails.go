package selfservice

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

const (
	emailLead        = "We sent a code to %s. Enter it below to add the address to your account."
	msgEmailOnHold   = "Your account is on hold until %s after a recent change, so its email addresses cannot change until then."
	msgEmailHave     = "That address is already on your account."
	msgEmailTooMany  = "Your account has as many email addresses as it can hold. Remove one first."
	msgEmailLast     = "This address is your only way to sign in, so it cannot be removed. Add a passkey first."
	msgEmailNotFound = "That email address is no longer on your account."
	msgEmailVerify   = "Verify this address before making it your primary one."
)

// onHold refuses email changes while the account is on hold: a passkey enrolled
// without a passkey sign-in must not be able to redirect recovery (DESIGN.md §3).
func (h *Handlers) onHold(w http.ResponseWriter, r *http.Request, ac accountContext, target string) bool {
	if !ac.st.user.HoldUntil.After(h.Now()) {
		return false
	}
	h.showAccount(w, r, http.StatusForbidden, "", problem{Target: target, Message: fmt.Sprintf(msgEmailOnHold, formatTime(ac.st.user.HoldUntil))})
	return true
}

// errKnown carries a sentence out of a transaction that decided to change nothing.
type errKnown struct {
	status int
	msg    string
}

func (e *errKnown) Error() string { return e.msg }

// addEmail sends a code to an address to add (or to an unverified address of the
// account, to verify it). An address of another account gets a note instead and a
// decoy code is counted, so the page and its work are the same either way.
func (h *Handlers) addEmail(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	if !ok || h.onHold(w, r, ac, "new-email") || !h.confirmed(w, r, ac.s, ac.st, ac.p, "change your email addresses") {
		return
	}
	raw := r.PostForm.Get("email")
	if raw == "" {
		h.showAccount(w, r, http.StatusBadRequest, "", problem{Target: "new-email", Message: msgEmailMissing})
		return
	}
	t, ctx, c := tenantOf(r), r.Context(), passkey.ClientOf(r)
	var addr string
	err := h.Store.InTx(ctx, func(tx store.Tx) error {
		var state user.EmailState
		var err error
		addr, state, err = user.CheckEmail(ctx, tx, t.ID, ac.s.UserID, raw)
		switch {
		case errors.Is(err, user.ErrInvalid):
			return &errKnown{http.StatusBadRequest, msgEmailInvalid}
		case errors.Is(err, user.ErrTooManyEmails):
			return &errKnown{http.StatusConflict, msgEmailTooMany}
		case err != nil:
			return err
		case state == user.EmailVerified:
			return &errKnown{http.StatusBadRequest, msgEmailHave}
		}
		now := h.Now()
		req := otp.IssueRequest{TenantID: t.ID, Purpose: otp.PurposeVerifyEmail, Subject: addr, IP: c.IP,
			Data: codeData{UserID: ac.s.UserID}.bytes(), Policy: ac.p.Throttles, Meta: meta(r, ac.s.UserID, ac.s.ID)}
		if state == user.EmailTaken {
			if err := h.OTP.IssueDecoy(ctx, tx, req); err != nil {
				return err
			}
			return queue(ctx, tx, t.ID, "email-taken", emailTakenMail(addr, t.DisplayName), now)
		}
		code, err := h.OTP.Issue(ctx, tx, req)
		if err != nil {
			return err
		}
		return queue(ctx, tx, t.ID, "email-code", verifyEmailCodeMail(addr, t.DisplayName, code, ac.p.Throttles.CodeLifetime.D()), now)
	})
	var known *errKnown
	if errors.As(err, &known) {
		h.showAccount(w, r, known.status, "", problem{Target: "new-email", Message: known.msg})
		return
	}
	if h.throttled(w, r, err, link{"Back to your account", "/t/" + t.ID + "/account"}) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "code", h.emailCodeView(r, addr, ""))
}

func (h *Handlers) emailCodeView(r *http.Request, addr, problem string) codePage {
	f := h.frame(r, "")
	return codePage{frame: f, Title: "Check your email", Lead: fmt.Sprintf(emailLead, addr),
		Action: f.Base + "/account/emails/verify", Email: addr, Error: problem, AgainURL: f.Base + "/account#emails"}
}

// verifyEmail checks the code sent to a new address and adds it, verified. The code
// was only sent after a confirmation, and proves control of the address, so this
// step needs none of its own.
func (h *Handlers) verifyEmail(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	// A hold that began after the code was sent still stops the change.
	if !ok || h.onHold(w, r, ac, "new-email") {
		return
	}
	addr, bad := emailInput(r.PostForm.Get("email"))
	if bad != "" {
		h.showAccount(w, r, http.StatusBadRequest, "", problem{Target: "new-email", Message: bad})
		return
	}
	t, ctx, c := tenantOf(r), r.Context(), passkey.ClientOf(r)
	red, err := h.OTP.Verify(ctx, otp.VerifyRequest{TenantID: t.ID, Purpose: otp.PurposeVerifyEmail, Subject: addr,
		Code: r.PostForm.Get("code"), IP: c.IP, Policy: ac.p.Throttles, Meta: meta(r, ac.s.UserID, ac.s.ID)})
	if h.throttled(w, r, err, link{"Back to your account", "/t/" + t.ID + "/account"}) {
		return
	}
	if msg := codeProblem(err); msg != "" {
		h.render(w, r, http.StatusBadRequest, "code", h.emailCodeView(r, addr, msg))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if parseCodeData(red.Data).UserID != ac.s.UserID {
		// A code requested by another account for the same address.
		h.render(w, r, http.StatusBadRequest, "code", h.emailCodeView(r, addr, msgCodeWrong))
		return
	}
	_, err = h.Users.ConfirmEmail(ctx, t.ID, ac.s.UserID, addr, meta(r, ac.s.UserID, ac.s.ID))
	switch {
	case errors.Is(err, user.ErrEmailTaken):
		h.render(w, r, http.StatusBadRequest, "code", h.emailCodeView(r, addr, msgCodeWrong))
	case errors.Is(err, user.ErrTooManyEmails):
		h.showAccount(w, r, http.StatusConflict, "", problem{Target: "new-email", Message: msgEmailTooMany})
	case err != nil:
		h.fail(w, r, err)
	default:
		h.done(w, r, "email-added")
	}
}

// makePrimaryEmail makes a verified address the account's primary one.
func (h *Handlers) makePrimaryEmail(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	id := r.PathValue("id")
	if !ok || h.onHold(w, r, ac, "email:"+id) || !h.confirmed(w, r, ac.s, ac.st, ac.p, "change your primary email address") {
		return
	}
	_, err := h.Users.MakePrimaryEmail(r.Context(), tenantOf(r).ID, ac.s.UserID, id, meta(r, ac.s.UserID, ac.s.ID))
	switch {
	case errors.Is(err, user.ErrEmailNotFound):
		h.showAccount(w, r, http.StatusNotFound, "", problem{Message: msgEmailNotFound})
	case errors.Is(err, user.ErrEmailUnverified):
		h.showAccount(w, r, http.StatusConflict, "", problem{Target: "email:" + id, Message: msgEmailVerify})
	case err != nil:
		h.fail(w, r, err)
	default:
		h.done(w, r, "email-primary")
	}
}

// removeEmail removes an address, unless it is the account's only way in.
func (h *Handlers) removeEmail(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	id := r.PathValue("id")
	if !ok || h.onHold(w, r, ac, "email:"+id) || !h.confirmed(w, r, ac.s, ac.st, ac.p, "remove an email address") {
		return
	}
	_, err := h.Users.RemoveEmail(r.Context(), tenantOf(r).ID, ac.s.UserID, id, meta(r, ac.s.UserID, ac.s.ID))
	switch {
	case errors.Is(err, user.ErrEmailNotFound):
		h.showAccount(w, r, http.StatusNotFound, "", problem{Message: msgEmailNotFound})
	case errors.Is(err, user.ErrLastSignInMethod):
		h.showAccount(w, r, http.StatusConflict, "", problem{Target: "email:" + id, Message: msgEmailLast})
	case err != nil:
		h.fail(w, r, err)
	default:
		h.done(w, r, "email-removed")
	}
}
