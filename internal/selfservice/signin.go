package selfservice

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// signInPage is the Data of the "signin" view.
type signInPage struct {
	frame
	// EmailCode shows the "Email me a code" form.
	EmailCode  bool
	Email      string
	EmailError string
	// LoginHint prefills the identifier field: the application that sent the person
	// here said who it expects (OpenID Connect login_hint).
	LoginHint string
	// SignUpURL and RecoverURL are empty when the tenant offers no such page.
	SignUpURL  string
	RecoverURL string
}

// codePage is the Data of the "code" view: the second step of every email-code flow.
type codePage struct {
	frame
	Title  string
	Lead   string
	Action string
	Email  string
	Error  string
	// AgainURL starts the flow again, for a new code.
	AgainURL string
}

// Sentences of the code step. The first is the same whether or not the address has an
// account (DESIGN.md §4 invariant 6).
const (
	signInCodeLead   = "If an account uses %s, we sent it a code. Enter it below to sign in."
	msgCodeMalformed = "Enter the 8-digit code from the email."
	msgCodeWrong     = "That code is not right or has expired. Check the newest email, or ask for a new code."
	msgEmailMissing  = "Enter your email address."
	msgEmailInvalid  = "Enter an email address like name@example.com."
)

func (h *Handlers) signInView(r *http.Request, p tenant.Policy, next string) signInPage {
	f := h.frame(r, next)
	v := signInPage{frame: f, EmailCode: emailCodeSignIn(p)}
	if f.TenantID != tenant.System {
		v.SignUpURL = withNext(f.Base+"/signup", next)
	}
	if p.Flows.SelfServiceRecovery && h.HasRoute != nil && h.HasRoute(http.MethodGet, f.Base+"/recover") {
		v.RecoverURL = withNext(f.Base+"/recover", next)
	}
	return v
}

// signInPage offers passkey autofill on the identifier field, a usernameless passkey
// button and, if the tenant allows it, a code by email.
func (h *Handlers) signInPage(w http.ResponseWriter, r *http.Request) {
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
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	v := h.signInView(r, p, next)
	v.LoginHint = loginHint(r.URL.Query().Get("login_hint"))
	h.render(w, r, http.StatusOK, "signin", v)
}

// maxLoginHint bounds the prefill; an identifier is never longer.
const maxLoginHint = 256

// loginHint returns the hint when it can be an identifier, and "" otherwise: it is
// only a convenience, so anything odd is dropped rather than refused.
func loginHint(raw string) string {
	if len(raw) > maxLoginHint || !utf8.ValidString(raw) || strings.ContainsFunc(raw, unicode.IsControl) {
		return ""
	}
	return strings.TrimSpace(raw)
}

// emailInput normalizes the "email" field, or returns the sentence to show beside it.
func emailInput(raw string) (string, string) {
	if raw == "" {
		return "", msgEmailMissing
	}
	addr, err := user.NormalizeEmail(raw)
	if err != nil {
		return "", msgEmailInvalid
	}
	return addr, ""
}

// signInEmail sends a sign-in code to an address that has an account, and does the
// same work for one that has none, then shows the same page either way.
func (h *Handlers) signInEmail(w http.ResponseWriter, r *http.Request) {
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	if !emailCodeSignIn(p) {
		h.Renderer.NotFound(w, r)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	t := tenantOf(r)
	next := safeNext(t.ID, r.PostForm.Get("next"))
	raw := r.PostForm.Get("email")
	addr, problem := emailInput(raw)
	if problem != "" {
		v := h.signInView(r, p, next)
		v.Email, v.EmailError = raw, problem
		h.render(w, r, http.StatusBadRequest, "signin", v)
		return
	}
	ctx, c := r.Context(), passkey.ClientOf(r)
	err := h.Store.InTx(ctx, func(tx store.Tx) error {
		now := h.Now()
		req := otp.IssueRequest{TenantID: t.ID, Purpose: otp.PurposeSignIn, Subject: addr, IP: c.IP,
			Policy: p.Throttles, Meta: meta(r, "", "")}
		_, usable, err := user.ByVerifiedEmail(ctx, tx, t.ID, addr)
		if err != nil {
			return err
		}
		if !usable {
			if err := h.OTP.IssueDecoy(ctx, tx, req); err != nil {
				return err
			}
			signUp := ""
			if h.signUpAllowed(r) {
				signUp = h.BaseURL + "/t/" + t.ID + "/signup"
			}
			return queue(ctx, tx, t.ID, "signin-none", noAccountSignInMail(addr, t.DisplayName, signUp), now)
		}
		code, err := h.OTP.Issue(ctx, tx, req)
		if err != nil {
			return err
		}
		return queue(ctx, tx, t.ID, "signin-code", signInCodeMail(addr, t.DisplayName, code, p.Throttles.CodeLifetime.D()), now)
	})
	if h.throttled(w, r, err, link{"Back to sign-in", withNext("/t/"+t.ID+"/signin", next)}) {
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "code", h.signInCodeView(r, next, addr, ""))
}

func (h *Handlers) signInCodeView(r *http.Request, next, addr, problem string) codePage {
	f := h.frame(r, next)
	return codePage{frame: f, Title: "Check your email", Lead: fmt.Sprintf(signInCodeLead, addr),
		Action: f.Base + "/signin/code", Email: addr, Error: problem, AgainURL: withNext(f.Base+"/signin", next)}
}

// signInCode checks a sign-in code and starts a single-factor session, then shows the
// "Sign in faster" prompt.
func (h *Handlers) signInCode(w http.ResponseWriter, r *http.Request) {
	p, ok := h.policy(w, r)
	if !ok {
		return
	}
	if !emailCodeSignIn(p) {
		h.Renderer.NotFound(w, r)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	t := tenantOf(r)
	next := safeNext(t.ID, r.PostForm.Get("next"))
	addr, problem := emailInput(r.PostForm.Get("email"))
	if problem != "" {
		// The address is a hidden field: a person only gets here by editing the page.
		v := h.signInView(r, p, next)
		v.Email, v.EmailError = r.PostForm.Get("email"), problem
		h.render(w, r, http.StatusBadRequest, "signin", v)
		return
	}
	ctx, c := r.Context(), passkey.ClientOf(r)
	_, err := h.OTP.Verify(ctx, otp.VerifyRequest{TenantID: t.ID, Purpose: otp.PurposeSignIn, Subject: addr,
		Code: r.PostForm.Get("code"), IP: c.IP, Policy: p.Throttles, Meta: meta(r, "", "")})
	if h.throttled(w, r, err, link{"Back to sign-in", withNext("/t/"+t.ID+"/signin", next)}) {
		return
	}
	if msg := codeProblem(err); msg != "" {
		h.render(w, r, http.StatusBadRequest, "code", h.signInCodeView(r, next, addr, msg))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var token string
	var sess *store.Session
	err = h.Store.InTx(ctx, func(tx store.Tx) error {
		u, usable, err := user.ByVerifiedEmail(ctx, tx, t.ID, addr)
		if err != nil {
			return err
		}
		if !usable {
			// Locked or removed between sending and checking the code.
			return otp.ErrWrongCode
		}
		token, sess, err = h.Sessions.Create(ctx, tx, session.New{
			TenantID: t.ID, UserID: u.ID, AMR: []string{session.AMROTP}, ACR: session.ACRSingleFactor,
			IP: c.IP, Network: c.Network, UserAgent: c.UserAgent,
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, h.Now(), meta(r, u.ID, sess.ID), audit.Entry{
			Type: audit.SignInSucceeded, TenantID: t.ID, TargetType: "user", TargetID: u.ID,
			Details: map[string]any{"method": "email_code"},
		})
	})
	if errors.Is(err, otp.ErrWrongCode) {
		h.render(w, r, http.StatusBadRequest, "code", h.signInCodeView(r, next, addr, msgCodeWrong))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Sessions.SetCookie(w, token, sess)
	redirect(w, r, withNext("/t/"+t.ID+"/nudge", next))
}

// codeProblem is the sentence for a code that did not verify, or "" for any other
// outcome.
func codeProblem(err error) string {
	switch {
	case errors.Is(err, otp.ErrMalformed):
		return msgCodeMalformed
	case errors.Is(err, otp.ErrWrongCode):
		return msgCodeWrong
	}
	return ""
}

// codeData is what a code carries from its issue to its check.
type codeData struct {
	DisplayName string `json:"display_name,omitempty"`
	UserID      string `json:"user_id,omitempty"`
}

func (d codeData) bytes() []byte {
	b, _ := json.Marshal(d) // two strings cannot fail to encode
	return b
}

func parseCodeData(b []byte) codeData {
	var d codeData
	_ = json.Unmarshal(b, &d) // we wrote it; a damaged value just means no data
	return d
}

// formatTime shows a moment in lists and pages, always in UTC so every node and
// every page agree.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}
