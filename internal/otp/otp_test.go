package otp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) advance(d time.Duration) { c.set(c.Now().Add(d)) }

// t0 starts an hour and a 10-minute tries window, so window ends are easy to state.
var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

var testKey = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	db    *sqlstore.DB
	clock *clock
	svc   *otp.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "otp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: t0}
	return &fixture{db: db, clock: c, svc: &otp.Service{Store: db, Now: c.Now, Key: testKey}}
}

func policy() tenant.Throttles { return tenant.DefaultPolicy().Throttles }

// issueReq is the usual request: tenant "default", sign-up, ann@example.com.
func issueReq() otp.IssueRequest {
	return otp.IssueRequest{
		TenantID: "default", Purpose: otp.PurposeSignUp, Subject: "ann@example.com",
		IP: "203.0.113.7", Policy: policy(),
	}
}

func verifyReq(code string) otp.VerifyRequest {
	return otp.VerifyRequest{
		TenantID: "default", Purpose: otp.PurposeSignUp, Subject: "ann@example.com",
		Code: code, IP: "203.0.113.7", Policy: policy(),
	}
}

func (f *fixture) issue(t *testing.T, req otp.IssueRequest) (string, error) {
	t.Helper()
	var code string
	err := f.db.InTx(context.Background(), func(tx store.Tx) error {
		var err error
		code, err = f.svc.Issue(context.Background(), tx, req)
		return err
	})
	return code, err
}

func (f *fixture) mustIssue(t *testing.T, req otp.IssueRequest) string {
	t.Helper()
	code, err := f.issue(t, req)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if len(code) != otp.CodeLength {
		t.Fatalf("Issue returned %d characters, want %d", len(code), otp.CodeLength)
	}
	return code
}

func (f *fixture) decoy(t *testing.T, req otp.IssueRequest) error {
	t.Helper()
	return f.db.InTx(context.Background(), func(tx store.Tx) error {
		return f.svc.IssueDecoy(context.Background(), tx, req)
	})
}

func (f *fixture) verify(t *testing.T, req otp.VerifyRequest) (*otp.Redeemed, error) {
	t.Helper()
	return f.svc.Verify(context.Background(), req)
}

func (f *fixture) mustVerify(t *testing.T, req otp.VerifyRequest) *otp.Redeemed {
	t.Helper()
	r, err := f.verify(t, req)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

// wrongCode returns a well-formed code other than code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func wantThrottled(t *testing.T, err error, reason string, retry time.Duration) {
	t.Helper()
	var te *otp.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want *ThrottledError", err)
	}
	if te.Reason != reason || te.RetryAfter != retry {
		t.Fatalf("throttled (%q, retry %s), want (%q, retry %s)", te.Reason, te.RetryAfter, reason, retry)
	}
}

func (f *fixture) countArtifacts(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(`SELECT COUNT(*) FROM artifacts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) auditTypes(t *testing.T, tenantID string) []string {
	t.Helper()
	var types []string
	err := f.db.View(context.Background(), func(tx store.Tx) error {
		evs, err := tx.QueryAudit(context.Background(), store.AuditQuery{TenantID: tenantID})
		for _, e := range evs {
			types = append(types, e.Type+":"+e.Result)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return types
}

func TestCodeVerifiesOnce(t *testing.T) {
	f := newFixture(t)
	req := issueReq()
	req.Data = []byte(`{"display_name": "Ann <O'Neil> & co", "n": 1.50}`)
	code := f.mustIssue(t, req)

	f.clock.advance(3 * time.Minute)
	r := f.mustVerify(t, verifyReq(code))
	if r.Subject != "ann@example.com" || string(r.Data) != string(req.Data) || !r.IssuedAt.Equal(t0) {
		t.Errorf("Redeemed = {%q, %s, %v}, want {ann@example.com, %s, %v}", r.Subject, r.Data, r.IssuedAt, req.Data, t0)
	}
	_, err := f.verify(t, verifyReq(code))
	wantErr(t, err, otp.ErrWrongCode)

	want := []string{"otp.issued:success", "otp.verified:success", "otp.failed:failure"}
	if got := f.auditTypes(t, "default"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit events %v, want %v", got, want)
	}
}

func TestInputIsNormalized(t *testing.T) {
	f := newFixture(t)
	code := f.mustIssue(t, issueReq())
	for _, in := range []string{"abc", "1234567", "123456789", code + "0", code[:4] + "x" + code[4:], "", "١٢٣٤٥٦٧٨"} {
		_, err := f.verify(t, verifyReq(in))
		wantErr(t, err, otp.ErrMalformed)
	}
	// Far more malformed tries than CodeTries: none of them counted or was recorded.
	if got := f.auditTypes(t, "default"); len(got) != 1 {
		t.Errorf("audit events after malformed input: %v, want only the issue", got)
	}
	f.mustVerify(t, verifyReq(" "+code[:4]+" - "+code[4:]+"\n"))
}

func TestWrongTriesThrottleEvenTheRightCode(t *testing.T) {
	f := newFixture(t)
	code := f.mustIssue(t, issueReq())
	f.clock.advance(3 * time.Minute)
	for range 5 {
		_, err := f.verify(t, verifyReq(wrongCode(code)))
		wantErr(t, err, otp.ErrWrongCode)
	}
	// The tries window is 10:00–10:10, so 7 minutes remain.
	_, errRight := f.verify(t, verifyReq(code))
	wantThrottled(t, errRight, otp.ReasonTries, 7*time.Minute)
	_, errWrong := f.verify(t, verifyReq(wrongCode(code)))
	if errRight.Error() != errWrong.Error() {
		t.Errorf("right code refused with %q, wrong code with %q: a guesser could tell them apart", errRight, errWrong)
	}
	// Another subject, purpose or network is unaffected.
	other := issueReq()
	other.Subject = "bob@example.com"
	otherCode := f.mustIssue(t, other)
	vr := verifyReq(otherCode)
	vr.Subject = "bob@example.com"
	f.mustVerify(t, vr)
}

func TestNewCodeDoesNotResetTries(t *testing.T) {
	f := newFixture(t)
	first := f.mustIssue(t, issueReq())
	for range 5 {
		_, err := f.verify(t, verifyReq(wrongCode(first)))
		wantErr(t, err, otp.ErrWrongCode)
	}
	f.clock.advance(time.Minute)
	second := f.mustIssue(t, issueReq())
	_, err := f.verify(t, verifyReq(second))
	wantThrottled(t, err, otp.ReasonTries, 9*time.Minute)

	// The limit ends with its window; the throttled code was not used up and, issued at
	// 10:01, is still alive at 10:10.
	f.clock.set(t0.Add(10 * time.Minute))
	f.mustVerify(t, verifyReq(second))
}

func TestCodesExpire(t *testing.T) {
	f := newFixture(t)
	old := f.mustIssue(t, issueReq())
	f.clock.advance(time.Minute)
	fresh := f.mustIssue(t, issueReq())

	f.clock.set(t0.Add(10 * time.Minute))
	_, err := f.verify(t, verifyReq(old))
	wantErr(t, err, otp.ErrWrongCode)
	f.mustVerify(t, verifyReq(fresh)) // issued at 10:01: one minute left

	// A zero policy means the default lifetime, neither zero nor forever.
	req := issueReq()
	req.Policy, req.Subject = tenant.Throttles{}, "cy@example.com"
	vr := verifyReq(f.mustIssue(t, req))
	vr.Policy, vr.Subject = req.Policy, req.Subject
	f.clock.advance(10*time.Minute - time.Microsecond)
	f.mustVerify(t, vr)
	vr.Code = f.mustIssue(t, req)
	f.clock.advance(10 * time.Minute)
	_, err = f.verify(t, vr)
	wantErr(t, err, otp.ErrWrongCode)
}

func TestCodeIsBoundToTenantPurposeAndSubject(t *testing.T) {
	f := newFixture(t)
	code := f.mustIssue(t, issueReq())
	cases := []struct {
		name string
		edit func(*otp.VerifyRequest)
	}{
		{"another purpose", func(r *otp.VerifyRequest) { r.Purpose = otp.PurposeRecovery }},
		{"another subject", func(r *otp.VerifyRequest) { r.Subject = "bob@example.com" }},
		{"another tenant", func(r *otp.VerifyRequest) { r.TenantID = "other" }},
		{"a subject that shares a prefix", func(r *otp.VerifyRequest) { r.Subject = "ann@example.co" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := verifyReq(code)
			c.edit(&r)
			_, err := f.verify(t, r)
			wantErr(t, err, otp.ErrWrongCode)
		})
	}
	f.mustVerify(t, verifyReq(code))
}

func TestCodeIsStoredOnlyAsKeyedHash(t *testing.T) {
	f := newFixture(t)
	code := f.mustIssue(t, issueReq())

	rows, err := f.db.SQL().Query(`SELECT hash, kind, tenant_id, subject, data FROM artifacts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		var hash, kind, tenantID, subject, data string
		if err := rows.Scan(&hash, &kind, &tenantID, &subject, &data); err != nil {
			t.Fatal(err)
		}
		if kind != "otp:signup" || tenantID != "default" || subject != "ann@example.com" {
			t.Errorf("artifact (%s, %s, %s), want (otp:signup, default, ann@example.com)", kind, tenantID, subject)
		}
		plain := sha256.Sum256([]byte(code))
		if hash == code || hash == hex.EncodeToString(plain[:]) {
			t.Errorf("artifact hash %s is the code or its plain SHA-256", hash)
		}
		for _, col := range []string{hash, kind, tenantID, subject, data} {
			if strings.Contains(col, code) {
				t.Errorf("artifacts row holds the code: %q", col)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d artifacts, want 1", n)
	}
	var details string
	if err := f.db.SQL().QueryRow(`SELECT group_concat(details, ' ') FROM audit_events`).Scan(&details); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(details, code) {
		t.Errorf("audit details hold the code: %s", details)
	}

	// Without the server key the code is worth nothing, even with the database.
	other := &otp.Service{Store: f.db, Now: f.clock.Now, Key: []byte("another key, just as long as it")}
	_, err = other.Verify(context.Background(), verifyReq(code))
	wantErr(t, err, otp.ErrWrongCode)
	f.mustVerify(t, verifyReq(code))
}

func TestSendLimitPerSubject(t *testing.T) {
	f := newFixture(t)
	f.clock.set(t0.Add(20 * time.Minute))
	for range 5 {
		f.mustIssue(t, issueReq())
	}
	_, err := f.issue(t, issueReq())
	wantThrottled(t, err, otp.ReasonSends, 40*time.Minute)
	if n := f.countArtifacts(t); n != 5 {
		t.Errorf("%d artifacts after a refused send, want 5", n)
	}
	// Another purpose, subject or tenant has its own count.
	for _, edit := range []func(*otp.IssueRequest){
		func(r *otp.IssueRequest) { r.Purpose = otp.PurposeRecovery },
		func(r *otp.IssueRequest) { r.Subject = "bob@example.com" },
		func(r *otp.IssueRequest) { r.TenantID = "other" },
	} {
		r := issueReq()
		edit(&r)
		f.mustIssue(t, r)
	}
	// The next clock hour starts over.
	f.clock.set(t0.Add(time.Hour))
	f.mustIssue(t, issueReq())
}

func TestSendLimitPerNetwork(t *testing.T) {
	f := newFixture(t)
	f.clock.set(t0.Add(59*time.Minute + 30*time.Second + time.Microsecond))
	p := policy()
	p.IPAttemptsPerHour = 3
	send := func(subject, ip string) error {
		r := issueReq()
		r.Subject, r.IP, r.Policy = subject, ip, p
		_, err := f.issue(t, r)
		return err
	}
	for _, s := range []string{"a@example.com", "b@example.com"} {
		if err := send(s, "2001:db8:1:2::1"); err != nil {
			t.Fatal(err)
		}
	}
	// Another address in the same IPv6 /64 shares the count.
	if err := send("c@example.com", "2001:db8:1:2:ffff::9"); err != nil {
		t.Fatal(err)
	}
	// 29.999999 s remain in the hour: rounded up, so a client does not retry too early.
	wantThrottled(t, send("d@example.com", "2001:db8:1:2::1"), otp.ReasonIP, 30*time.Second)
	if err := send("d@example.com", "2001:db8:1:3::1"); err != nil {
		t.Errorf("another /64: %v", err)
	}
	if err := send("d@example.com", "198.51.100.1"); err != nil {
		t.Errorf("an IPv4 client: %v", err)
	}
	f.clock.set(t0.Add(time.Hour))
	if err := send("d@example.com", "2001:db8:1:2::1"); err != nil {
		t.Errorf("next hour: %v", err)
	}
}

func TestWrongCodeLimitPerNetwork(t *testing.T) {
	f := newFixture(t)
	f.clock.set(t0.Add(45 * time.Minute))
	p := policy()
	p.IPAttemptsPerHour = 3
	codes := map[string]string{}
	for _, s := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		r := issueReq()
		r.Subject, r.IP = s, "198.51.100.1"
		codes[s] = f.mustIssue(t, r)
	}
	verify := func(subject, code, ip string) error {
		r := verifyReq(code)
		r.Subject, r.IP, r.Policy = subject, ip, p
		_, err := f.verify(t, r)
		return err
	}
	for _, s := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		wantErr(t, verify(s, wrongCode(codes[s]), "203.0.113.7"), otp.ErrWrongCode)
	}
	wantThrottled(t, verify("d@example.com", codes["d@example.com"], "203.0.113.7"), otp.ReasonIP, 15*time.Minute)
	if err := verify("d@example.com", codes["d@example.com"], "203.0.113.8"); err != nil {
		t.Errorf("from another network: %v", err)
	}
}

func TestDecoyCountsButNeverVerifies(t *testing.T) {
	f := newFixture(t)
	req := issueReq()
	req.Subject = "nobody@example.com"
	for range 5 {
		if err := f.decoy(t, req); err != nil {
			t.Fatalf("IssueDecoy: %v", err)
		}
	}
	// Written like a real code, so the database work is the same…
	var kind, subject string
	if err := f.db.SQL().QueryRow(`SELECT kind, subject FROM artifacts LIMIT 1`).Scan(&kind, &subject); err != nil {
		t.Fatal(err)
	}
	if kind != "otp:signup" || subject != "nobody@example.com" || f.countArtifacts(t) != 5 {
		t.Errorf("decoy artifacts: kind %q subject %q count %d", kind, subject, f.countArtifacts(t))
	}
	// …and throttled like one, whichever of the two is asked next.
	wantThrottled(t, f.decoy(t, req), otp.ReasonSends, time.Hour)
	_, err := f.issue(t, req)
	wantThrottled(t, err, otp.ReasonSends, time.Hour)

	// Decoys spend the network's budget too.
	p := policy()
	p.IPAttemptsPerHour = 5
	r := issueReq()
	r.Subject, r.Policy = "someone@example.com", p
	_, err = f.issue(t, r)
	wantThrottled(t, err, otp.ReasonIP, time.Hour)
}

func TestSuccessSupersedesOtherCodes(t *testing.T) {
	f := newFixture(t)
	a := f.mustIssue(t, issueReq())
	b := f.mustIssue(t, issueReq())
	rec := issueReq()
	rec.Purpose = otp.PurposeRecovery
	r := f.mustIssue(t, rec)

	f.mustVerify(t, verifyReq(b))
	_, err := f.verify(t, verifyReq(a))
	wantErr(t, err, otp.ErrWrongCode)

	// Codes issued after the success, and codes for other purposes, still work.
	c := f.mustIssue(t, issueReq())
	f.mustVerify(t, verifyReq(c))
	vr := verifyReq(r)
	vr.Purpose = otp.PurposeRecovery
	f.mustVerify(t, vr)
}

func TestConcurrentVerifyRedeemsOnce(t *testing.T) {
	f := newFixture(t)
	for round := range 10 {
		req := issueReq()
		req.Subject = string(rune('a'+round)) + "@example.com"
		code := f.mustIssue(t, req)
		vr := verifyReq(code)
		vr.Subject = req.Subject
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { _, errs[i] = f.svc.Verify(context.Background(), vr) })
		}
		wg.Wait()
		ok, wrong := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, otp.ErrWrongCode):
				wrong++
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if ok != 1 || wrong != 1 {
			t.Fatalf("round %d: %d successes and %d wrong codes, want 1 and 1", round, ok, wrong)
		}
	}
}

func TestRequestsAreChecked(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		svc  *otp.Service
		edit func(*otp.IssueRequest)
	}{
		{"short key", &otp.Service{Store: f.db, Now: f.clock.Now, Key: []byte("short")}, func(*otp.IssueRequest) {}},
		{"no subject", f.svc, func(r *otp.IssueRequest) { r.Subject = "" }},
		{"no tenant", f.svc, func(r *otp.IssueRequest) { r.TenantID = "" }},
		{"bad purpose", f.svc, func(r *otp.IssueRequest) { r.Purpose = "sign|up" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := issueReq()
			c.edit(&r)
			err := f.db.InTx(context.Background(), func(tx store.Tx) error {
				_, err := c.svc.Issue(context.Background(), tx, r)
				return err
			})
			if err == nil {
				t.Fatal("Issue accepted the request")
			}
		})
	}
	if n := f.countArtifacts(t); n != 0 {
		t.Errorf("%d artifacts after refused requests, want 0", n)
	}
}
