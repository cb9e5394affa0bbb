package selfservice_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/browsertest"
)

// These tests drive the real pages in headless Chromium with DevTools virtual
// authenticators. Each page they visit is screenshotted; the harness logs where.

// TestBrowserPasskeyJourney is the story of issue 3's "Done when": a new person creates
// an account with a passkey, adds a verified email, signs out, signs back in by
// autofill, adds a second passkey (confirming with the first), reads the notice in
// the mailbox, removes the first passkey and cannot remove the last.
func TestBrowserPasskeyJourney(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	b := browsertest.New(t)
	p := openPage(t, b)
	inbox := openPage(t, b)
	laptop := p.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})

	// Sign up with just a passkey.
	first := p.signUpWithPasskey(s, "Robin Example")
	mustContain(t, "account page", p.innerText("#account-title")+" "+p.innerText("#account-name"), "Your account", "Robin Example")
	p.WaitVisible("#add-email-prompt")
	p.visited("account-after-signup")

	// Add an email address, with the code read in the mailbox tab.
	const addr = "robin@example.com"
	p.SetValue("#new-email", addr)
	p.Click("#add-email")
	p.WaitVisible("#code")
	mustContain(t, "code page", p.innerText("#code-lead"), "We sent a code to "+addr)
	p.visited("email-code")
	code := codeIn(t, inbox.readMail(s, addr, "Confirm your email address"))
	inbox.visited("mailbox-code")
	p.SetValue("#code", code)
	p.clickAndWait("#verify-code", "done=email-added")
	p.WaitVisible("#emails")
	mustContain(t, "emails", p.innerText("#emails"), addr, "Primary", "Verified")
	if p.attr("#add-email-prompt", "id") != "" {
		t.Error("the account page still asks for an email after one was verified")
	}
	p.visited("account-with-email")

	// Sign out. The sign-in page offers the passkey by autofill at once; with the
	// authenticator not answering, the request waits as it would for a person who
	// has not picked a passkey yet, and the page can be looked at signed out.
	p.setPresence(laptop, false)
	p.clickAndWait("#signout", "/t/default/signin")
	p.WaitVisible("#identifier")
	if got := p.attr("#identifier", "autocomplete"); got != "username webauthn" {
		t.Errorf(`#identifier has autocomplete=%q, want "username webauthn"`, got)
	}
	if got := p.autofillState(); got != "OperationError" {
		t.Errorf("the signed-out sign-in page has no passkey autofill request waiting: a second request ended with %q", got)
	}
	p.visited("signin-signed-out")

	// Sign back in by autofill: the authenticator answers the conditional request on
	// load, as if the person picked the passkey from the list, with no click.
	p.setPresence(laptop, true)
	count := p.Credentials(laptop)[0].SignCount
	p.Navigate(s.URL + "/t/default/signin")
	p.WaitURLContains("/t/default/account")
	p.WaitVisible("#activity")
	mustContain(t, "activity after autofill", p.innerText("#activity li"), "Signed in with a passkey")
	if got := p.Credentials(laptop)[0].SignCount; got <= count {
		t.Errorf("the passkey's counter is %v after the autofill sign-in, was %v: it was not used", got, count)
	}
	p.visited("account-after-autofill")

	// Add a passkey on a security key, on a session too old for security changes:
	// the page confirms with the laptop's passkey, then creates the new one.
	clock.Advance(10 * time.Minute)
	p.Navigate(s.URL + "/t/default/account")
	p.visited("account-stale")
	key := p.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{Transport: webauthn.AuthenticatorTransportUsb})
	count = p.Credentials(laptop)[0].SignCount
	logged := len(p.ConsoleErrors())
	p.SetValue("#new-passkey-name", "Security key")
	p.clickAndWait("#add-passkey", "done=passkey-added")
	p.WaitVisible("#passkeys")
	if !p.loggedSince(logged, "status of 403", "/api/passkey/register/begin") {
		t.Error("adding a passkey on a stale session was not refused first: the step-up was not exercised")
	}
	if got := p.Credentials(laptop)[0].SignCount; got <= count {
		t.Error("the step-up did not use the laptop's passkey")
	}
	if n := len(p.Credentials(key)); n != 1 {
		t.Errorf("the security key holds %d passkeys, want the new one", n)
	}
	rows := p.passkeys()
	if len(rows) != 2 || rows[0].ID != first.ID || rows[1].Name != "Security key" {
		t.Fatalf("after adding, the account page lists %+v; want %q and \"Security key\"", rows, first.Name)
	}
	second := rows[1]
	mustContain(t, "notice", p.innerText("#notice"), "Your new passkey is ready.")
	mustContain(t, "activity", p.innerText("#activity"), `Passkey "Security key" added`, "Confirmed it was you with a passkey")
	p.visited("account-two-passkeys", 403)

	// The verified address is told.
	m := inbox.readMail(s, addr, "A passkey was added to your account")
	mustContain(t, "notice mail", m.Body, `A passkey named "Security key" was added to your account.`)
	mustContain(t, "mailbox page", inbox.innerText("main"), "A passkey was added to your account")
	inbox.visited("mailbox-passkey-added")

	// Remove the first passkey, on a stale session again: the confirm page comes first.
	clock.Advance(10 * time.Minute)
	p.Navigate(s.URL + "/t/default/account")
	p.Click("#remove-passkey-" + first.ID)
	p.WaitVisible("#step-up")
	mustContain(t, "confirm page", p.innerText("main"), "Confirm it's you", "To remove a passkey, confirm it's you")
	p.visited("stepup-remove", 403)
	p.clickAndWait("#step-up", "done=passkey-removed")
	p.WaitVisible("#passkeys")
	if rows := p.passkeys(); len(rows) != 1 || rows[0].ID != second.ID {
		t.Fatalf("after removing the first passkey the page lists %+v, want only %q", rows, second.Name)
	}
	mustContain(t, "activity", p.innerText("#activity"), `Passkey "`+first.Name+`" removed`)
	p.visited("account-first-removed")
	m = inbox.readMail(s, addr, "A passkey was removed from your account")
	mustContain(t, "removal mail", m.Body, first.Name)
	inbox.visited("mailbox-passkey-removed")

	// The last passkey cannot go: the page says why beside it, and it stays.
	p.Click("#remove-passkey-" + second.ID)
	p.WaitVisible("#passkey-error-" + second.ID)
	mustContain(t, "refusal", p.innerText("#passkey-error-"+second.ID),
		"This is your only way to sign in, so it cannot be removed. Add another passkey first.")
	if rows := p.passkeys(); len(rows) != 1 || rows[0].ID != second.ID {
		t.Fatalf("after the refused removal the page lists %+v, want %q still", rows, second.Name)
	}
	p.visited("remove-last-refused", 409)
}

// TestBrowserUsernamelessButton signs in with the "Sign in with a passkey" button while
// the page's autofill request is still waiting, as it does for a person who ignores
// the autofill list: the button must take over from it.
func TestBrowserUsernamelessButton(t *testing.T) {
	s := apptest.Start(t)
	b := browsertest.New(t)
	p := openPage(t, b)
	phone := p.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})
	p.signUpWithPasskey(s, "Sam Button")

	// With the authenticator not answering, the autofill request of the sign-in page
	// waits, and it keeps waiting once the authenticator answers again (see
	// browsertest's documentation): only the button can sign in now. The probe makes
	// sure the request was made before the authenticator answers again; whether it
	// is still waiting is TestBrowserPasskeyJourney's business.
	p.setPresence(phone, false)
	p.clickAndWait("#signout", "/t/default/signin")
	p.WaitVisible("#passkey-signin")
	t.Logf("autofill before the click: a second request ended with %q", p.autofillState())
	p.setPresence(phone, true)
	p.visited("signin")

	p.clickAndWait("#passkey-signin", "/t/default/account")
	p.WaitVisible("#activity")
	mustContain(t, "activity", p.innerText("#activity"), "Signed in with a passkey", "Signed out")
	mustContain(t, "account", p.innerText("#account-name"), "Sam Button")
	p.visited("account")
}

// TestBrowserEmailSignUp creates an account the email-first way: address, code from
// the mailbox, then the passkey.
func TestBrowserEmailSignUp(t *testing.T) {
	s := apptest.Start(t)
	b := browsertest.New(t)
	p := openPage(t, b)
	inbox := openPage(t, b)
	p.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})

	const addr = "jo@example.com"
	p.Navigate(s.URL + "/t/default/signup")
	p.visited("signup")
	p.SetValue("#signup-name", "Jo Email")
	p.SetValue("#signup-email", addr)
	p.Click("#signup-submit")
	p.WaitVisible("#code")
	mustContain(t, "code page", p.innerText("#code-lead"), "We sent an email to "+addr)
	p.visited("signup-code")

	m := inbox.readMail(s, addr, "")
	inbox.visited("mailbox")
	p.SetValue("#code", codeIn(t, m))
	p.clickAndWait("#verify-code", "/t/default/signup/passkey")
	p.WaitVisible("#create-passkey")
	p.visited("create-passkey")

	p.SetValue("#passkey-name", "Work laptop")
	p.clickAndWait("#create-passkey", "/t/default/account")
	p.WaitVisible("#emails")
	mustContain(t, "emails", p.innerText("#emails"), addr, "Primary", "Verified")
	rows := p.passkeys()
	if len(rows) != 1 || rows[0].Name != "Work laptop" {
		t.Fatalf("the new account lists passkeys %+v, want one named \"Work laptop\"", rows)
	}
	if p.attr("#add-email-prompt", "id") != "" {
		t.Error("an account made with a verified email is asked to add one")
	}
	mustContain(t, "account", p.innerText("#account-name"), "Jo Email")
	p.visited("account")
}

// TestBrowserPagesOnAPhone loads every page a person sees at a phone's size and checks
// it logs nothing and nothing sticks out sideways. The screenshots are for a person
// to look at.
func TestBrowserPagesOnAPhone(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	b := browsertest.New(t)
	p := openPage(t, b)
	p.Run(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
	phone := p.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})

	fits := func(name string, statuses ...int) {
		t.Helper()
		if out := p.overflow(); len(out) > 0 {
			t.Errorf("page %q does not fit a 390px screen:\n%s", name, strings.Join(out, "\n"))
		}
		p.visited(name, statuses...)
	}

	// Signed out: sign-in, then sign-up by email through to the account page.
	p.Navigate(s.URL + "/t/default/signin")
	p.WaitVisible("#passkey-signin")
	fits("signin")
	p.Navigate(s.URL + "/t/default/signup")
	fits("signup")
	const addr = "kai@example.com"
	p.SetValue("#signup-email", addr)
	p.Click("#signup-submit")
	p.WaitVisible("#code")
	fits("signup-code")
	p.SetValue("#code", "00000000")
	p.Click("#verify-code")
	p.WaitVisible("#code-error")
	fits("signup-code-wrong", 400)
	p.SetValue("#code", codeFor(t, s, addr))
	p.clickAndWait("#verify-code", "/t/default/signup/passkey")
	p.WaitVisible("#create-passkey")
	fits("create-passkey")
	p.clickAndWait("#create-passkey", "/t/default/account")
	p.WaitVisible("#activity")
	fits("account")
	rows := p.passkeys()

	// A stale session asks to confirm before a security change.
	clock.Advance(10 * time.Minute)
	p.Navigate(s.URL + "/t/default/account")
	p.Click("#remove-passkey-" + rows[0].ID)
	p.WaitVisible("#step-up")
	fits("stepup", 403)

	// Message pages, signed out and with no passkey in the browser, so that the
	// sign-in page's autofill cannot sign back in.
	p.RemoveAuthenticator(phone)
	p.Navigate(s.URL + "/t/default/account")
	p.clickAndWait("#signout", "/t/default/signin")
	p.Navigate(s.URL + "/t/default/signup/passkey")
	p.WaitVisible("#message")
	mustContain(t, "expired sign-up", p.innerText("#message-title"), "Your sign-up has expired")
	fits("message-signup-expired", 410)
	p.Navigate(s.URL + "/t/system/setup?token=used")
	p.WaitVisible("#message")
	fits("message-setup-link", 410)
	person := s.NewPerson("default")
	for range 5 {
		person.Post(t, "signup", "email", "busy@example.com")
	}
	p.Navigate(s.URL + "/t/default/signup")
	p.SetValue("#signup-email", "busy@example.com")
	p.Click("#signup-submit")
	p.WaitVisible("#message")
	mustContain(t, "throttled", p.innerText("#message"), "Try again in")
	fits("message-throttled", 429)

	// With email codes on, the sign-in page has an email path, and a code sign-in
	// leads to the "Sign in faster" prompt.
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	s.NewUser(t, "default", "lee@example.com")
	p.Navigate(s.URL + "/t/default/signin")
	p.WaitVisible("#email-code")
	fits("signin-email-code")
	p.SetValue("#identifier", "lee@example.com")
	p.Click("#email-code")
	p.WaitVisible("#code")
	fits("signin-code")
	p.SetValue("#code", codeFor(t, s, "lee@example.com"))
	p.clickAndWait("#verify-code", "/t/default/nudge")
	p.WaitVisible("#nudge-title")
	fits("nudge")
}
