package selfservice

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// signUpPage is the Data of the "signup" view.
type signUpPage struct {
	frame
	Email, EmailError string
	Name, NameError   string
	SignInURL         string
}

// signUpLead is the same whether or not the address already has an account: that
// address gets either a code or a note saying it already has one.
const signUpLead = "We sent an email to %s. Enter the code from it below to continue."

// maxDisplayName matches the passkey API's limit for a passkey-first sign-up.
const maxDisplayName = 100

// displayNameInput checks an optional name, returning it trimmed or the sentence to
// show beside the field.
func displayNameInput(raw string) (string, string) {
	name := strings.TrimSpace(raw)
	if utf8.RuneCountInString(name) > maxDisplayName {
		return "", fmt.Sprintf("Use at most %d characters for your name.", maxDisplayName)
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return "", "Your name cannot contain line breaks or other control characters."
	}
	return name, ""
}

func (h *Handlers) signUpView(r *http.Request, next string) signUpPage {
	f := h.frame(r, next)
	return signUpPage{frame: f, SignInURL: withNext(f.Base+"/signin", next)}
}

// signUpAllowed applies the tenant's sign-up policy; it is always false for the system
// tenant: operators are made by the setup link and by other operators.
func (h *Handlers) signUpAllowed(r *http.Request) bool {
	p, err := h.Tenants.Policy(r.Context(), tenantOf(r).ID)
	return err == nil && tenant.SignUpAllowed(tenantOf(r).ID, p)
}

// signUpPage offers both ways to create an account: email first, or passkey first.
func (h *Handlers) signUpPage(w http.ResponseWriter, r *http.Request) {
	if !h.signUpAllowed(r) {
		h.Renderer.NotFound(w, r)
		return
	}
	t := tenantOf(r)
	next := safeNext(t.ID, r.URL.Query().Get("next"))
	s, err := h.currentSession(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if s != nil {
		// A signed-in browser would add a passkey to its own account, not make one.
		redirect(w, r, orDefault(t.ID, next))
		return
	}
	h.render(w, r, http.StatusOK, "signup", h.signUpView(r, next))
}

// signUpEmail sends a sign-up code to a new address, or a "you already have an
// account" note to a known one, and shows the same page either way.
func (h *Handlers) signUpEmail(w http.ResponseWriter, r *http.Request) {
	if !h.signUpAllowed(r) {
		h.Renderer.NotFound(w, r)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	t := tenantOf(r)
	next := safeNext(t.ID, r.PostForm.Get("next"))
	rawEmail, rawName := r.PostForm.Get("email"), r.PostForm.Get("name")
	addr, emailProblem := emailInput(rawEmail)
	name, nameProblem := displayNameInput(rawName)
	if emailProblem != "" || nameProblem != "" {
		v := h.signUpView(r, next)
		v.Email, v.EmailError, v.Name, v.NameError = rawEmail, emailProblem, rawName, nameProblem
		h.render(w, r, http.StatusBadRequest, "signup", v)
		return
	}
	ctx, c := r.Context(), passkey.ClientOf(r)
	err := h.Store.InTx(ctx, func(tx store.Tx) error {
		now := h.Now()
		req := otp.IssueRequest{TenantID: t.ID, Purpose: otp.PurposeSignUp, Subject: addr, IP: c.IP,
			Data: codeData{DisplayName: name}.bytes(), Policy: p.Throttles, Meta: meta(r, "", "")}
		_, err := tx.FindUserByIdentifier(ctx, t.ID, store.IdentEmail, addr)
		switch {
		case err == nil:
			if err := h.OTP.IssueDecoy(ctx, tx, req); err != nil {
				return err
			}
			return queue(ctx, tx, t.ID, "signup-exists", existingAccountMail(addr, t.DisplayName, h.BaseURL+"/t/"+t.ID+"/signin"), now)
		case !isNotFound(err):
			return err
		}
		code, err := h.OTP.Issue(ctx, tx, req)
		if err != nil {
			return err
		}
		return queue(ctx, tx, t.ID, "signup-code", signUpCodeMail(addr, t.DisplayName, code, p.Throttles.CodeLifetime.D()), now)
	})
	if h.throttled(w, r, err, link{"Back to sign-up", withNext("/t/"+t.ID+"/signup", next)}) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "code", h.signUpCodeView(r, next, addr, ""))
}

func (h *Handlers) signUpCodeView(r *http.Request, next, addr, problem string) codePage {
	f := h.frame(r, next)
	return codePage{frame: f, Title: "Check your email", Lead: fmt.Sprintf(signUpLead, addr),
		Action: f.Base + "/signup/verify", Email: addr, Error: problem, AgainURL: withNext(f.Base+"/signup", next)}
}

// signUpVerify checks the code, records a pending sign-up and sends the browser to
// create the account's first passkey.
func (h *Handlers) signUpVerify(w http.ResponseWriter, r *http.Request) {
	if !h.signUpAllowed(r) {
		h.Renderer.NotFound(w, r)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	t := tenantOf(r)
	next := safeNext(t.ID, r.PostForm.Get("next"))
	addr, problem := emailInput(r.PostForm.Get("email"))
	if problem != "" {
		v := h.signUpView(r, next)
		v.Email, v.EmailError = r.PostForm.Get("email"), problem
		h.render(w, r, http.StatusBadRequest, "signup", v)
		return
	}
	ctx, c := r.Context(), passkey.ClientOf(r)
	red, err := h.OTP.Verify(ctx, otp.VerifyRequest{TenantID: t.ID, Purpose: otp.PurposeSignUp, Subject: addr,
		Code: r.PostForm.Get("code"), IP: c.IP, Policy: p.Throttles, Meta: meta(r, "", "")})
	if h.throttled(w, r, err, link{"Back to sign-up", withNext("/t/"+t.ID+"/signup", next)}) {
		return
	}
	if msg := codeProblem(err); msg != "" {
		h.render(w, r, http.StatusBadRequest, "code", h.signUpCodeView(r, next, addr, msg))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var token string
	err = h.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		token, err = h.Passkeys.StartSignUp(ctx, tx, t.ID, passkey.SignUp{
			DisplayName: parseCodeData(red.Data).DisplayName, Email: addr,
		})
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Passkeys.SetSignUpCookie(w, token)
	redirect(w, r, withNext("/t/"+t.ID+"/signup/passkey", next))
}

// passkeyPage is the Data of the "signup-passkey" view.
type passkeyPage struct {
	frame
	// Finish is where the new account goes once its passkey exists.
	Finish string
}

// signUpPasskey asks a browser holding a pending sign-up (a verified email, or an
// operator setup link) to create the new account's passkey.
func (h *Handlers) signUpPasskey(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	next := safeNext(t.ID, r.URL.Query().Get("next"))
	s, err := h.currentSession(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if s != nil {
		redirect(w, r, orDefault(t.ID, next))
		return
	}
	// The cookie lives exactly as long as the pending sign-up, so without it there is
	// nothing to finish.
	if c, err := r.Cookie(h.Passkeys.SignUpCookieName()); err != nil || c.Value == "" {
		f := h.frame(r, next)
		v := messagePage{frame: f, Title: "Your sign-up has expired",
			Message: "It has been too long since you confirmed your email address, or you opened this page in another browser. Please start again."}
		if h.signUpAllowed(r) {
			v.LinkText, v.LinkURL = "Start again", withNext(f.Base+"/signup", next)
		} else {
			v.Message = "It has been too long since you used the setup link, or you opened this page in another browser. Restart Gatehouse to print a new setup link."
		}
		h.render(w, r, http.StatusGone, "message", v)
		return
	}
	h.render(w, r, http.StatusOK, "signup-passkey", passkeyPage{frame: h.frame(r, next), Finish: orDefault(t.ID, next)})
}
