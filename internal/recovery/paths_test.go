package recovery_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestInvariant6_RecoveryRevealsNoAccount: the recovery page answers an address that
// has an account exactly as one that has none, one whose address is unverified, and
// a locked one: same status, same page (but for the address), one message to the
// address, one code issued (real or decoy) and audited alike. A guessed code is
// answered the same way too.
func TestInvariant6_RecoveryRevealsNoAccount(t *testing.T) {
	s := apptest.Start(t)
	const known = "known@example.com"
	s.NewUser(t, "default", known)
	if _, err := s.App.Users.Create(context.Background(), "default",
		user.NewUser{DisplayName: "Unverified", Email: "unverified@example.com"}, audit.System()); err != nil {
		t.Fatal(err)
	}
	locked := s.NewUser(t, "default", "locked@example.com")
	if _, err := s.App.Users.SetStatus(context.Background(), "default", locked.ID, "locked", "test", audit.System()); err != nil {
		t.Fatal(err)
	}
	answer := func(addr, path string, kv ...string) (int, string) {
		r := s.NewPerson("default").Post(t, path, append([]string{"email", addr}, kv...)...)
		return r.Status, strings.ReplaceAll(string(r.Body), addr, "ADDRESS")
	}
	ks, kb := answer(known, "recover")
	if ks != http.StatusOK {
		t.Fatalf("known address: %d\n%s", ks, kb)
	}
	for _, other := range []string{"nobody@example.com", "unverified@example.com", "locked@example.com"} {
		issued := len(s.Events(t, "default", otp.EventIssued))
		os, ob := answer(other, "recover")
		if os != ks || ob != kb {
			t.Fatalf("%s answered %d, known %d; pages differ:\n%s\n---\n%s", other, os, ks, ob, kb)
		}
		if n := len(s.Mails(t, other)); n != 1 {
			t.Fatalf("%s got %d messages, want 1 (a note that no code was sent)", other, n)
		}
		if n := len(s.Events(t, "default", otp.EventIssued)) - issued; n != 1 {
			t.Fatalf("%s: %d otp.issued events, want 1 like a real code", other, n)
		}
		gs, gb := answer(other, "recover/code", "code", "12345678")
		ks2, kb2 := answer(known, "recover/code", "code", "12345678")
		if gs != http.StatusBadRequest || gs != ks2 || gb != kb2 {
			t.Fatalf("guessed code: %s %d, known %d; pages differ: %v", other, gs, ks2, gb != kb2)
		}
	}
	if n := len(s.Mails(t, known)); n != 1 {
		t.Fatalf("known address got %d messages, want 1", n)
	}
}

// TestPrivilegedAccountsCannotSelfRecover: an admin who proves their inbox is told to
// contact the help desk; no session is made, and the attempt is audited at high
// severity.
func TestPrivilegedAccountsCannotSelfRecover(t *testing.T) {
	s := apptest.Start(t)
	admin := s.NewUser(t, "default", "boss@example.com", user.RoleAdmin)
	p := s.NewPerson("default")
	expect(t, "ask for a code", p.Post(t, "recover", "email", "boss@example.com"), http.StatusOK, "we sent it a code")
	r := p.Post(t, "recover/code", "email", "boss@example.com", "code", codeFor(t, s, "boss@example.com"))
	expect(t, "privileged recovery", r, http.StatusForbidden, "Contact your help desk", "temporary access pass")
	if strings.Contains(r.Header.Get("Set-Cookie"), "gh_session=") {
		t.Fatal("a privileged self-recovery set a session cookie")
	}
	refused := s.Events(t, "default", audit.RecoveryRefused)
	if len(refused) != 1 || refused[0].TargetID != admin.ID || refused[0].Severity != audit.High {
		t.Fatalf("recovery.refused events: %+v", refused)
	}
	if n := len(s.Events(t, "default", audit.RecoveryStarted)); n != 0 {
		t.Fatalf("%d recoveries started", n)
	}
}

// TestRecoveryTurnedOff: with self-service recovery off the page says so (or sends a
// person to the pass page when passes are on), and posting anyway does nothing.
func TestRecoveryTurnedOff(t *testing.T) {
	s := apptest.Start(t)
	s.NewUser(t, "default", "ana@example.com")
	s.SetPolicy(t, "default", func(p *tenant.Policy) { p.Flows.SelfServiceRecovery = false })
	p := s.NewPerson("default")
	apptest.ExpectRedirect(t, "recover page with passes on", p.Get(t, "recover"), "/t/default/recover/tap")
	expect(t, "post anyway", p.Post(t, "recover", "email", "ana@example.com"), http.StatusNotFound, "turned off")
	if n := len(s.Mails(t, "ana@example.com")); n != 0 {
		t.Fatalf("%d messages sent with recovery off", n)
	}
	s.SetPolicy(t, "default", func(p *tenant.Policy) { p.Flows.HelpdeskTAP = false })
	expect(t, "recover page, both off", p.Get(t, "recover"), http.StatusNotFound, "turned off")
	expect(t, "pass page, passes off", p.Get(t, "recover/tap"), http.StatusNotFound, "turned off")
}

// TestTAPForAPrivilegedAccountNeedsASecondOperator: a help-desk pass for an admin
// does not work until a second, different operator approves it; the issuer cannot
// approve their own. Once approved it works once, as a recovery with a hold, and the
// audit log names both operators.
func TestTAPForAPrivilegedAccountNeedsASecondOperator(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	op1 := s.NewUser(t, tenant.System, "op1@example.com", user.RoleOperator)
	op2 := s.NewUser(t, tenant.System, "op2@example.com", user.RoleOperator)
	target := s.NewUser(t, "default", "boss@example.com", user.RoleAdmin)
	m := audit.Meta{UserAgent: "test"}

	_, err := s.App.Recovery.Issue(ctx, recovery.IssueTAP{TenantID: "default", User: "boss@example.com", Operator: recovery.Operator{ID: op1.ID}}, m)
	var invalid *recovery.InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("issue without saying how identity was checked: %v", err)
	}
	issued, err := s.App.Recovery.Issue(ctx, recovery.IssueTAP{TenantID: "default", User: "boss@example.com", Operator: recovery.Operator{ID: op1.ID},
		VerifiedBy: "video call with photo ID"}, m)
	if err != nil {
		t.Fatal(err)
	}
	if !issued.TAP.NeedsApproval || !regexp.MustCompile(`^([A-Z2-9]{4}-){4}[A-Z2-9]{4}$`).MatchString(issued.Pass) {
		t.Fatalf("issued %+v, pass %q", issued.TAP, issued.Pass)
	}
	person := newDevice(s)
	expect(t, "pass before approval", person.Post(t, "recover/tap", "pass", issued.Pass), http.StatusBadRequest,
		"waiting for a second help-desk operator")
	if _, err := s.App.Recovery.Approve(ctx, "default", issued.TAP.ID, recovery.Operator{ID: op1.ID}, m); !errors.Is(err, recovery.ErrSameOperator) {
		t.Fatalf("issuer approving their own pass: %v", err)
	}
	if _, err := s.App.Recovery.Approve(ctx, "default", issued.TAP.ID, recovery.Operator{ID: target.ID}, m); !errors.Is(err, recovery.ErrOwnPass) {
		t.Fatalf("the target approving their own pass: %v", err)
	}
	nobody := s.NewUser(t, "default", "nobody@example.com")
	if _, err := s.App.Recovery.Approve(ctx, "default", issued.TAP.ID, recovery.Operator{ID: nobody.ID}, m); !errors.Is(err, recovery.ErrNotOperator) {
		t.Fatalf("approval by a non-operator: %v", err)
	}
	if _, err := s.App.Recovery.Approve(ctx, "default", issued.TAP.ID, recovery.Operator{ID: "admin-client", Client: true}, m); !errors.Is(err, recovery.ErrApprovalNeedsPerson) {
		t.Fatalf("approval by an API client: %v", err)
	}
	expect(t, "pass after a refused approval", person.Post(t, "recover/tap", "pass", issued.Pass), http.StatusBadRequest,
		"waiting for a second help-desk operator")
	if _, err := s.App.Recovery.Approve(ctx, "default", issued.TAP.ID, recovery.Operator{ID: op2.ID}, m); err != nil {
		t.Fatalf("second operator's approval: %v", err)
	}
	if _, err := s.App.Recovery.Approve(ctx, "default", issued.TAP.ID, recovery.Operator{ID: op2.ID}, m); !errors.Is(err, recovery.ErrAlreadyApproved) {
		t.Fatalf("approving twice: %v", err)
	}
	// Typed in lower case and without dashes, as people do.
	typed := strings.ToLower(strings.ReplaceAll(issued.Pass, "-", " "))
	apptest.ExpectRedirect(t, "pass after approval", person.Post(t, "recover/tap", "pass", typed), "/t/default/recover/passkey")
	sess := person.Session(t)
	if !sess.Restricted || sess.Flow != session.FlowTAP {
		t.Fatalf("pass session: restricted=%v flow=%s", sess.Restricted, sess.Flow)
	}
	expect(t, "the pass again", s.NewPerson("default").Post(t, "recover/tap", "pass", issued.Pass), http.StatusBadRequest, "not valid")
	if r := person.AddPasskey(t, "New laptop"); r.Status != http.StatusOK {
		t.Fatalf("enroll with the pass: %d %s", r.Status, r.Body)
	}
	if u, _ := s.User(t, "default", target.ID); !recovery.OnHold(u, s.App.Now()) {
		t.Fatal("a pass sign-in did not put the account on hold")
	}
	mailWith(t, s, "boss@example.com", "was recovered")
	for typ, want := range map[string]string{audit.TAPIssued: op1.ID, audit.TAPApproved: op2.ID, audit.TAPApprovalRefused: op1.ID} {
		evs := s.Events(t, "default", typ)
		if typ == audit.TAPApprovalRefused && len(evs) == 2 {
			evs = evs[:1] // the issuer's attempt; the target's own comes second
		}
		if len(evs) != 1 || evs[0].ActorType != audit.ActorOperator || evs[0].ActorID != want {
			t.Fatalf("%s events: %+v, want one by operator %s", typ, evs, want)
		}
	}
	used := s.Events(t, "default", audit.TAPUsed)
	if len(used) != 1 || !strings.Contains(string(used[0].Details), op1.ID) || !strings.Contains(string(used[0].Details), op2.ID) {
		t.Fatalf("tap.used events: %+v", used)
	}
}

// TestTAPLimits: a pass cannot outlive the policy's maximum, needs an operator, and a
// pass for an ordinary account works without approval.
func TestTAPLimits(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	op := s.NewUser(t, tenant.System, "op@example.com", user.RoleOperator)
	s.NewUser(t, "default", "ana@example.com")
	plain := s.NewUser(t, tenant.System, "notop@example.com")
	in := recovery.IssueTAP{TenantID: "default", User: "ana@example.com", Operator: recovery.Operator{ID: op.ID}, VerifiedBy: "in person, badge"}
	over := in
	over.TTL = 2 * 60 * 60 * 1e9
	var invalid *recovery.InvalidError
	if _, err := s.App.Recovery.Issue(ctx, over, audit.Meta{}); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "at most 1h") {
		t.Fatalf("a 2h pass: %v", err)
	}
	notOp := in
	notOp.Operator = recovery.Operator{ID: plain.ID}
	if _, err := s.App.Recovery.Issue(ctx, notOp, audit.Meta{}); !errors.Is(err, recovery.ErrNotOperator) {
		t.Fatalf("issued by a non-operator: %v", err)
	}
	issued, err := s.App.Recovery.Issue(ctx, in, audit.Meta{})
	if err != nil || issued.TAP.NeedsApproval {
		t.Fatalf("ordinary pass: %+v %v", issued, err)
	}
	mailWith(t, s, "ana@example.com", "temporary access pass")
	apptest.ExpectRedirect(t, "use it", s.NewPerson("default").Post(t, "recover/tap", "pass", issued.Pass), "/t/default/recover/passkey")
}

var codeRE = regexp.MustCompile(`<code>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</code>`)

func codesIn(t *testing.T, r *apptest.Response) []string {
	t.Helper()
	var out []string
	for _, m := range codeRE.FindAllStringSubmatch(string(r.Body), -1) {
		out = append(out, m[1])
	}
	if len(out) != recovery.CodeCount {
		t.Fatalf("page shows %d codes, want %d:\n%s", len(out), recovery.CodeCount, r.Body)
	}
	return out
}

// TestRecoveryCodes: codes are made only after a passkey confirmation, shown once,
// stored hashed, single use, counted on the account page, throttled when wrong, and
// regenerating them invalidates the old set.
func TestRecoveryCodes(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "codes.db")
	s := apptest.Start(t, apptest.WithConfig(func(c *config.Config) { c.Database = "sqlite:" + db }))
	s.SetPolicy(t, "default", func(p *tenant.Policy) {
		p.Recovery.RequireRecoveryCode = true
		p.Throttles.CodeTries = 3
	})
	const addr = "ana@example.com"
	ana := accountHolder(t, s, "Ana", addr)

	expect(t, "account page before", ana.Get(t, "account"), http.StatusOK, "You have no recovery codes.")
	old := codesIn(t, ana.Post(t, "account/recovery-codes"))
	mailWith(t, s, addr, "New recovery codes")
	fresh := codesIn(t, ana.Post(t, "account/recovery-codes"))
	expect(t, "account page after", ana.Get(t, "account"), http.StatusOK, "You have 10 unused recovery codes.")
	expect(t, "codes page", ana.Get(t, "account/recovery-codes"), http.StatusOK, "<strong>10</strong> unused")
	if strings.Contains(string(ana.Get(t, "account/recovery-codes").Body), fresh[0]) {
		t.Fatal("the codes page shows the codes again")
	}

	// Hashed at rest: no code, with or without dashes, is anywhere in the database files.
	files, _ := filepath.Glob(db + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range append(old, fresh...) {
			if bytes.Contains(b, []byte(c)) || bytes.Contains(b, []byte(strings.ReplaceAll(c, "-", ""))) {
				t.Fatalf("recovery code %s is stored in %s in the clear", c, filepath.Base(f))
			}
		}
	}

	start := func() *apptest.Person {
		p := newDevice(s)
		expect(t, "ask for a code", p.Post(t, "recover", "email", addr), http.StatusOK)
		expect(t, "email code", p.Post(t, "recover/code", "email", addr, "code", codeFor(t, s, addr)),
			http.StatusOK, "Enter a recovery code")
		return p
	}
	p := start()
	expect(t, "an old code after regeneration", p.Post(t, "recover/saved-code", "recovery_code", old[0]),
		http.StatusBadRequest, "not right or was already used")
	apptest.ExpectRedirect(t, "a fresh code, typed loosely", p.Post(t, "recover/saved-code", "recovery_code", strings.ToLower(fresh[0])),
		"/t/default/recover/passkey")
	mailWith(t, s, addr, "A recovery code was used")

	p = start()
	expect(t, "the same code twice", p.Post(t, "recover/saved-code", "recovery_code", fresh[0]),
		http.StatusBadRequest, "not right or was already used")
	r := p.Post(t, "recover/saved-code", "recovery_code", fresh[1])
	expect(t, "a right code past the limit", r, http.StatusTooManyRequests, "too many wrong codes", "Try again in")
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 3601 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if n, _ := s.App.Recovery.CodesLeft(context.Background(), "default", ana.Session(t).UserID); n != 9 {
		t.Fatalf("%d codes left, want 9", n)
	}
}

// TestRecoveryCodesNeedAFreshPasskey: without a recent passkey confirmation the page
// asks for one instead of making codes.
func TestRecoveryCodesNeedAFreshPasskey(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	ana := accountHolder(t, s, "Ana", "ana@example.com")
	clock.Advance(10 * 60 * 1e9)
	expect(t, "stale session", ana.Post(t, "account/recovery-codes"), http.StatusForbidden, "confirm it's you", `data-passkey="stepup"`)
	if r := ana.StepUp(t); r.Status != http.StatusOK {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	codesIn(t, ana.Post(t, "account/recovery-codes"))
}

func TestSMSRecoveryFollowsRetirement(t *testing.T) {
	for phase, want := range map[string]bool{"active": true, "nudge": true, "no_new_enrollment": true,
		"recovery_only": true, "disabled": false, "purged": false} {
		p := tenant.DefaultPolicy()
		p.Methods.SMS.Recovery = true
		p.Retirement["sms"] = tenant.Retirement{Phase: phase}
		if got := recovery.SMSRecoveryAllowed(p); got != want {
			t.Errorf("phase %s: SMS recovery %v, want %v", phase, got, want)
		}
	}
	if recovery.SMSRecoveryAllowed(tenant.DefaultPolicy()) {
		t.Error("the default policy recovers by SMS")
	}
}

// TestOperatorEndsAHoldEarly: once an operator ends the hold, the recovered passkey
// signs in with full assurance, the change is audited with the operator, and the
// person is told.
func TestOperatorEndsAHoldEarly(t *testing.T) {
	s := apptest.Start(t)
	const addr = "ana@example.com"
	u := s.NewUser(t, "default", addr)
	p := newDevice(s)
	recoverByEmail(t, p, addr)
	if r := p.AddPasskey(t, "New phone"); r.Status != http.StatusOK {
		t.Fatalf("enroll: %d %s", r.Status, r.Body)
	}
	op := s.NewUser(t, tenant.System, "op@example.com", user.RoleOperator)
	if _, err := s.App.Recovery.EndHold(context.Background(), "default", u.ID, audit.Meta{ActorType: audit.ActorOperator, ActorID: op.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Recovery.EndHold(context.Background(), "default", u.ID, audit.Meta{}); !errors.Is(err, recovery.ErrNoHold) {
		t.Fatalf("ending it twice: %v", err)
	}
	again := p.OtherBrowser()
	again.SignIn(t)
	if sess := again.Session(t); !session.PhishingResistant(sess) {
		t.Fatalf("sign-in after the hold: flow=%s acr=%s", sess.Flow, sess.ACR)
	}
	ended := s.Events(t, "default", audit.RecoveryHoldEnded)
	if len(ended) != 1 || ended[0].ActorID != op.ID {
		t.Fatalf("recovery.hold_ended events: %+v", ended)
	}
	mailWith(t, s, addr, "hold on your account was lifted")
}

// TestBadInputGetsASentenceNeverA5xx: malformed, missing and hostile values on every
// recovery page get a 4xx page (or the ordinary page), never a server error.
func TestBadInputGetsASentenceNeverA5xx(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	long := strings.Repeat("A", 5000)
	cases := []struct {
		method, path string
		form         []string
	}{
		{"POST", "recover", []string{"email", "not an address"}},
		{"POST", "recover", []string{"email", "a@b.example\x00"}},
		{"POST", "recover/code", []string{"email", "x@example.com", "code", long}},
		{"POST", "recover/code", []string{"email", long}},
		{"POST", "recover/saved-code", []string{"recovery_code", "ABCD"}},
		{"POST", "recover/tap", []string{"pass", long}},
		{"POST", "recover/tap", []string{"pass", "ÄÖÜ-ÄÖÜ"}},
		{"GET", "recover/not-me?token=" + long, nil},
		{"GET", "recover/not-me", nil},
		{"POST", "recover/not-me", []string{"token", "nope"}},
		{"GET", "recover/passkey", nil},
		{"GET", "recover/done", nil},
		{"GET", "account/recovery-codes", nil},
		{"POST", "account/recovery-codes", nil},
	}
	for _, c := range cases {
		var r *apptest.Response
		if c.method == "GET" {
			r = p.Get(t, c.path)
		} else {
			r = p.Post(t, c.path, c.form...)
		}
		if r.Status >= 500 {
			t.Errorf("%s %s: %d\n%s", c.method, c.path, r.Status, r.Body)
		}
	}
}
