package selfservice_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// TestInvariant6_NoAccountEnumeration: sign-up and email-code sign-in answer an
// address that has an account exactly as one that has none: same status, same page
// (but for the address it echoes), one message to the address either way, and the
// same audit and throttle work. The code step answers a guess the same way too.
func TestInvariant6_NoAccountEnumeration(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	const known = "known@example.com"
	s.NewUser(t, "default", known)

	flows := []struct {
		name, send, check string
		extra             []string
	}{
		{"sign-up", "signup", "signup/verify", []string{"name", "Sam"}},
		{"email-code sign-in", "signin/email", "signin/code", nil},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			unknown := "nobody-" + strings.ReplaceAll(f.send, "/", "-") + "@example.com"
			mailsBefore := len(s.Mails(t, known))
			issuedBefore := len(s.Events(t, "default", otp.EventIssued))
			answer := func(addr, path string, kv ...string) (int, string, http.Header) {
				r := s.NewPerson("default").Post(t, path, append([]string{"email", addr, "next", "/t/default/account"}, kv...)...)
				return r.Status, strings.ReplaceAll(string(r.Body), addr, "ADDRESS"), r.Header
			}
			ks, kb, kh := answer(known, f.send, f.extra...)
			us, ub, uh := answer(unknown, f.send, f.extra...)
			if ks != http.StatusOK || ks != us || kb != ub {
				t.Fatalf("send: known %d, unknown %d; pages differ: %v\nknown:\n%s\nunknown:\n%s", ks, us, kb != ub, kb, ub)
			}
			if kh.Get("Set-Cookie") != uh.Get("Set-Cookie") {
				t.Fatalf("send: cookies differ: %q vs %q", kh.Get("Set-Cookie"), uh.Get("Set-Cookie"))
			}
			if n := len(s.Mails(t, known)) - mailsBefore; n != 1 {
				t.Fatalf("known address got %d messages, want 1", n)
			}
			if n := len(s.Mails(t, unknown)); n != 1 {
				t.Fatalf("unknown address got %d messages, want 1", n)
			}
			// Each request issued one code (a real one or a decoy) and recorded it alike.
			issued := s.Events(t, "default", otp.EventIssued)[issuedBefore:]
			if len(issued) != 2 || issued[0].Result != issued[1].Result || issued[0].Severity != issued[1].Severity {
				t.Fatalf("audit of the two sends: %+v", issued)
			}

			// A guessed code gets the same answer for both.
			ks, kb, _ = answer(known, f.check, "code", "12345678")
			us, ub, _ = answer(unknown, f.check, "code", "12345678")
			if ks != http.StatusBadRequest || ks != us || kb != ub {
				t.Fatalf("check: known %d, unknown %d; pages differ: %v", ks, us, kb != ub)
			}
		})
	}
}

// TestInvariant6_ThrottleIsTheSameForKnownAndUnknown: the send limit is reached after
// the same number of requests whether or not the address has an account, so the
// limit cannot be used to tell them apart either.
func TestInvariant6_ThrottleIsTheSameForKnownAndUnknown(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", func(p *tenant.Policy) { p.Throttles.CodeSendsPerHour = 2 })
	s.NewUser(t, "default", "known@example.com")
	for _, addr := range []string{"known@example.com", "unknown@example.com"} {
		p := s.NewPerson("default")
		for i := 1; i <= 2; i++ {
			expect(t, addr+" send "+strconv.Itoa(i), p.Post(t, "signup", "email", addr), http.StatusOK)
		}
		r := p.Post(t, "signup", "email", addr)
		expect(t, addr+" over the limit", r, http.StatusTooManyRequests,
			"We have sent as many codes to that address as we can for now.", "Try again in ")
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 3600 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
}

func TestWrongCodesAreThrottledWithARetryTime(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", func(p *tenant.Policy) { p.Throttles.CodeTries = 2 })
	p := s.NewPerson("default")
	expect(t, "send", p.Post(t, "signup", "email", "guess@example.com"), http.StatusOK)
	for range 2 {
		expect(t, "wrong", p.Post(t, "signup/verify", "email", "guess@example.com", "code", "00000000"), http.StatusBadRequest)
	}
	// Now even the right code is refused until the window ends, and the page says when.
	r := p.Post(t, "signup/verify", "email", "guess@example.com", "code", codeFor(t, s, "guess@example.com"))
	expect(t, "throttled", r, http.StatusTooManyRequests, "too many wrong codes", "Try again in ", `id="message-link"`)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestInvalidUTF8FormGets400(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	for _, path := range []string{
		"/t/default/signup", "/t/default/signup/verify", "/t/default/signin/email", "/t/default/signin/code",
		"/t/default/nudge", "/t/default/account/emails", "/t/default/account/emails/verify", "/t/default/signout",
		"/t/system/setup",
	} {
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader("email=%ff%fe&next=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, web.InvalidUTF8Message) {
			t.Errorf("POST %s with invalid UTF-8: %d %q", path, resp.StatusCode, b)
		}
	}
}

// TestBadInputNeverGets5xx throws malformed, missing and hostile input at every page.
func TestBadInputNeverGets5xx(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	p := s.NewPerson("default")
	p.SignUp(t, "Pat")
	anon := s.NewPerson("default")
	long := strings.Repeat("x", 70000)
	type req struct {
		method, path string
		form         url.Values
	}
	var reqs []req
	paths := []string{
		"signin", "signin/email", "signin/code", "signup", "signup/verify", "signup/passkey", "nudge", "account",
		"account/passkeys/x/rename", "account/passkeys/x/remove", "account/emails", "account/emails/verify",
		"account/emails/x/primary", "account/emails/x/remove", "account/sessions/x/revoke",
		"account/sessions/revoke-others", "signout", "setup", "/t/system/setup",
		"/t/system/signup/passkey", "/t/nope/signin", "/t/NOPE/account",
	}
	forms := []url.Values{
		nil, {}, {"email": {""}}, {"email": {"@"}}, {"email": {"a@b.c", "d@e.f"}}, {"code": {"１２３４５６７８"}},
		{"email": {"a@example.com"}, "code": {long[:64]}}, {"next": {"//evil.example"}}, {"name": {"\x00"}},
		{"token": {strings.Repeat("A", 43)}, "name": {"N"}, "email": {"n@example.com"}}, {"email": {long}},
	}
	for _, path := range paths {
		reqs = append(reqs, req{"GET", path + "?next=%00&token=%ff&done=%3Cscript%3E", nil})
		for _, f := range forms {
			reqs = append(reqs, req{"POST", path, f})
		}
	}
	for _, who := range []*apptest.Person{anon, p} {
		for _, r := range reqs {
			resp := who.Send(t, r.method, r.path, r.form)
			if resp.Status >= 500 {
				t.Errorf("%s %s %v: %d\n%.300s", r.method, r.path, r.form, resp.Status, resp.Body)
			}
			if strings.Contains(string(resp.Body), "<script>") {
				t.Errorf("%s %s: reflected markup", r.method, r.path)
			}
		}
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
