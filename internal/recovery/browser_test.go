package recovery_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/browsertest"
)

// faviconMissing is the one network error every page logs: Chromium asks each site
// for /favicon.ico and Gatehouse serves none.
var faviconMissing = regexp.MustCompile(`status of 404 \(Not Found\) \[[^\]]*/favicon\.ico\]$`)

// shot saves a screenshot of the tab and fails the test on anything the page logged
// since the last shot other than the missing favicon.
func shot(t *testing.T, tab *browsertest.Tab, seen *int, name string) {
	t.Helper()
	tab.Screenshot(name)
	all := tab.ConsoleErrors()
	for _, line := range all[*seen:] {
		if !faviconMissing.MatchString(line) {
			t.Errorf("page %q logged: %s", name, line)
		}
	}
	*seen = len(all)
}

type mailboxMail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// readMail reads the development mailbox in tab until it shows a message to addr
// whose subject contains subject, and returns the newest one.
func readMail(t *testing.T, tab *browsertest.Tab, s *apptest.Server, addr, subject string) mailboxMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tab.Navigate(s.URL + "/dev/mailbox")
		var inbox []mailboxMail
		tab.Eval(`[...document.querySelectorAll("main article")].map((a) => ({
			subject: a.querySelector("h2").textContent,
			to: a.querySelector("dd").textContent,
			body: a.querySelector("pre").textContent,
		}))`, &inbox)
		for _, m := range inbox {
			if m.To == addr && strings.Contains(m.Subject, subject) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mailbox shows no mail to %s about %q", addr, subject)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserRecoveryThroughTheMailbox: a person who lost their passkey follows
// "Lost your passkey?" from the sign-in page, reads the code in the development
// mailbox, creates a new passkey with the browser's authenticator, and lands on a
// page that explains the hold; the account page then shows the new passkey as
// provisional, and the recovery notice with its "This wasn't me" link arrives.
func TestBrowserRecoveryThroughTheMailbox(t *testing.T) {
	s := apptest.Start(t)
	const addr = "lost@example.com"
	s.NewUser(t, "default", addr)
	b := browsertest.New(t)
	p := b.NewTab(t)
	p.Timeout = 15 * time.Second
	inbox := b.NewTab(t)
	inbox.Timeout = 15 * time.Second
	p.AddPasskeyAuthenticator(browsertest.AuthenticatorOptions{})
	var seen, inboxSeen int

	p.Navigate(s.URL + "/t/default/signin")
	p.WaitVisible("#recover-link")
	shot(t, p, &seen, "recovery-signin")
	p.Click("#recover-link")
	p.WaitVisible("#email")
	shot(t, p, &seen, "recovery-start")
	p.SetValue("#email", addr)
	p.Click("#send-code")
	p.WaitVisible("#code")
	if lead := p.Text("#code-lead"); !strings.Contains(lead, addr) {
		t.Fatalf("code page says %q", lead)
	}
	shot(t, p, &seen, "recovery-code")

	m := readMail(t, inbox, s, addr, "recover")
	shot(t, inbox, &inboxSeen, "recovery-mailbox-code")
	code, ok := apptest.CodeIn(m.Body)
	if !ok {
		t.Fatalf("recovery mail has no code:\n%s", m.Body)
	}
	p.SetValue("#code", code)
	p.Click("#verify-code")
	p.WaitURLContains("/t/default/recover/passkey")
	p.WaitVisible("#create-passkey")
	shot(t, p, &seen, "recovery-create-passkey")

	p.SetValue("#passkey-name", "Recovered laptop")
	p.Click("#create-passkey")
	p.WaitURLContains("/t/default/recover/done")
	p.WaitVisible("#hold-notice")
	if notice := p.Text("#hold-notice"); !strings.Contains(notice, "on hold until") {
		t.Fatalf("done page says %q", notice)
	}
	shot(t, p, &seen, "recovery-done")

	p.Click("#account-link")
	p.WaitURLContains("/t/default/account")
	p.WaitVisible("#passkeys")
	if rows := p.Text("#passkeys"); !strings.Contains(rows, "Recovered laptop") || !strings.Contains(rows, "Provisional") {
		t.Fatalf("account passkeys: %q", rows)
	}
	shot(t, p, &seen, "recovery-account-on-hold")

	notice := readMail(t, inbox, s, addr, "was recovered")
	if !strings.Contains(notice.Body, "This wasn't me: ") || !strings.Contains(notice.Body, "Recovered laptop") {
		t.Fatalf("recovery notice:\n%s", notice.Body)
	}
	shot(t, inbox, &inboxSeen, "recovery-mailbox-notice")
}
