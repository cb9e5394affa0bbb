package selfservice_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/browsertest"
)

// browserStepTimeout bounds each call on a tab: every step of these flows takes well
// under a second, so a hung ceremony fails the test quickly instead of after 30 s.
const browserStepTimeout = 15 * time.Second

// browserPage is a browser tab with a note of how much of its console log has been
// judged, so that each page is held to account for what it logged itself.
type browserPage struct {
	*browsertest.Tab
	t       *testing.T
	checked int
}

func openPage(t *testing.T, b *browsertest.Browser) *browserPage {
	t.Helper()
	tab := b.NewTab(t)
	tab.Timeout = browserStepTimeout
	return &browserPage{Tab: tab, t: t}
}

// faviconMissing is the one network error every page logs: Chromium asks each site
// for /favicon.ico and Gatehouse serves none.
var faviconMissing = regexp.MustCompile(`Failed to load resource: the server responded with a status of 404 \(Not Found\) \[[^\]]*/favicon\.ico\]$`)

// visited checks what the page logged since the last check and saves a screenshot
// of it named name. statuses are HTTP statuses the page answered on purpose (403
// for a step-up, 409 for a refused change, 410 for an expired link): Chromium logs
// such an answer as a failed resource load, and only that line is let through.
// Anything else, such as a CSP violation or an uncaught exception, fails the test.
func (p *browserPage) visited(name string, statuses ...int) {
	p.t.Helper()
	p.Screenshot(name)
	all := p.ConsoleErrors()
	fresh := all[p.checked:]
	p.checked = len(all)
	for _, line := range fresh {
		if faviconMissing.MatchString(line) || expectedStatus(line, statuses) {
			continue
		}
		p.t.Errorf("page %q logged: %s", name, line)
	}
}

func expectedStatus(line string, statuses []int) bool {
	for _, s := range statuses {
		if strings.Contains(line, fmt.Sprintf("Failed to load resource: the server responded with a status of %d ", s)) {
			return true
		}
	}
	return false
}

// loggedSince reports whether a console line logged after the first skip lines
// contains every one of parts.
func (p *browserPage) loggedSince(skip int, parts ...string) bool {
	all := p.ConsoleErrors()
	for _, line := range all[min(skip, len(all)):] {
		ok := true
		for _, part := range parts {
			ok = ok && strings.Contains(line, part)
		}
		if ok {
			return true
		}
	}
	return false
}

// innerText returns the rendered text of the first element matching sel as the page
// is now, without waiting for one; it is "" when there is none.
func (p *browserPage) innerText(sel string) string {
	p.t.Helper()
	var s string
	p.Eval(fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel), &s)
	return s
}

// attr returns an attribute of the first element matching sel ("" when absent).
func (p *browserPage) attr(sel, name string) string {
	p.t.Helper()
	var s string
	p.Eval(fmt.Sprintf(`(document.querySelector(%q)?.getAttribute(%q)) || ""`, sel, name), &s)
	return s
}

// passkeyRow is one passkey as the account page lists it.
type passkeyRow struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Text string `json:"text"`
}

// passkeys returns the passkeys the account page lists, in page order.
func (p *browserPage) passkeys() []passkeyRow {
	p.t.Helper()
	var rows []passkeyRow
	p.Eval(`[...document.querySelectorAll("#passkeys li.row")].map((li) => ({
		id: li.id.replace(/^passkey-/, ""),
		name: li.querySelector(".passkey-name").textContent,
		text: li.innerText,
	}))`, &rows)
	return rows
}

// setPresence turns the authenticator's automatic user presence on or off. While it
// is off, WebAuthn requests wait for a touch that never comes (see browsertest).
func (p *browserPage) setPresence(id browsertest.AuthenticatorID, on bool) {
	p.t.Helper()
	p.Run(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, webauthn.SetAutomaticPresenceSimulation,
			webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
		return err
	}))
}

// autofillState waits until the sign-in page has asked the server for its autofill
// challenge, then asks the browser for a passkey itself. The answer says what the
// page is doing: "OperationError" means its conditional request is waiting for the
// person to pick a passkey, since Chromium allows one pending request a page.
// The page's own request is left as it was.
func (p *browserPage) autofillState() string {
	p.t.Helper()
	var state string
	p.Eval(`(async () => {
		const asked = () => performance.getEntriesByType("resource").some((e) => e.name.endsWith("/api/passkey/login/begin"));
		for (let i = 0; i < 200 && !asked(); i++) await new Promise((r) => setTimeout(r, 25));
		if (!asked()) return "no autofill challenge requested";
		try {
			await navigator.credentials.get({
				publicKey: { challenge: new Uint8Array(32), userVerification: "required" },
				signal: AbortSignal.timeout(1000),
			});
			return "a second request succeeded";
		} catch (e) {
			return e.name;
		}
	})()`, &state)
	return state
}

// overflow lists what sticks out of the viewport sideways, which on a phone means
// the page scrolls horizontally or a control is cut off.
func (p *browserPage) overflow() []string {
	p.t.Helper()
	var out []string
	p.Eval(`(() => {
		const width = document.documentElement.clientWidth;
		const out = [];
		if (document.documentElement.scrollWidth > width) out.push("the page is " + document.documentElement.scrollWidth + "px wide in a " + width + "px viewport");
		for (const el of document.querySelectorAll("body *")) {
			if (el.getClientRects().length === 0) continue;
			const r = el.getBoundingClientRect();
			if (r.right > width + 0.5 || r.left < -0.5) {
				out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " spans " + Math.round(r.left) + "–" + Math.round(r.right) + "px");
			}
		}
		return out.slice(0, 12);
	})()`, &out)
	return out
}

// mailboxMail is one message of the development mailbox page.
type mailboxMail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// readMail opens the development mailbox in the tab, as a person reads their email
// in another tab, until it shows a message to addr whose subject starts with
// subject, and returns the newest such message. Delivery goes through the outbox, so
// the mail may take a moment to arrive.
func (p *browserPage) readMail(s *apptest.Server, addr, subject string) mailboxMail {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.Navigate(s.URL + "/dev/mailbox")
		var inbox []mailboxMail
		p.Eval(`[...document.querySelectorAll("main article")].map((a) => ({
			subject: a.querySelector("h2").textContent,
			to: a.querySelector("dd").textContent,
			body: a.querySelector("pre").textContent,
		}))`, &inbox)
		for _, m := range inbox {
			if m.To == addr && strings.HasPrefix(m.Subject, subject) {
				return m
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the mailbox shows no mail to %s about %q; it has %d messages", addr, subject, len(inbox))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// codeIn returns the 8-digit code of a message.
func codeIn(t *testing.T, m mailboxMail) string {
	t.Helper()
	code, ok := apptest.CodeIn(m.Body)
	if !ok {
		t.Fatalf("mail %q has no 8-digit code:\n%s", m.Subject, m.Body)
	}
	return code
}

// signUpWithPasskey creates an account with just a passkey through the sign-up page
// and returns the account page's only passkey.
func (p *browserPage) signUpWithPasskey(s *apptest.Server, name string) passkeyRow {
	p.t.Helper()
	p.Navigate(s.URL + "/t/default/signup")
	p.visited("signup")
	p.SetValue("#passkey-signup-name", name)
	p.Click("#passkey-signup")
	p.WaitURLContains("/t/default/account")
	p.WaitVisible("#passkeys")
	rows := p.passkeys()
	if len(rows) != 1 {
		p.t.Fatalf("after sign-up the account page lists %d passkeys, want 1: %+v", len(rows), rows)
	}
	return rows[0]
}

// clickAndWait clicks sel and waits for the URL to contain want.
func (p *browserPage) clickAndWait(sel, want string) {
	p.t.Helper()
	p.Click(sel)
	p.WaitURLContains(want)
}

// mustContain fails the test unless got contains every one of wants.
func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, got)
		}
	}
}
