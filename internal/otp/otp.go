// Package otp issues and verifies one-time codes sent to an email address (later a
// phone): sign-up and email verification, optional email-code sign-in, and recovery.
//
// A code is 8 uniformly random decimal digits, lives for the tenant's code lifetime
// (10 minutes by default), is redeemed at most once, and is stored only as
// HMAC-SHA256 under a server key, so a copy of the database is not enough to search
// the 10^8 possible codes offline.
//
// Sending and guessing are throttled with counters that every node shares. All
// windows are fixed (aligned to the clock, the same on every node) because that is
// what store.CounterTx keeps:
//
//   - codes sent: Throttles.CodeSendsPerHour per (tenant, purpose, subject) and
//     Throttles.IPAttemptsPerHour per (tenant, client network), per clock hour;
//   - wrong codes: Throttles.CodeTries per (tenant, purpose, subject) per window as long
//     as the code lifetime, and Throttles.IPAttemptsPerHour per (tenant, client network)
//     per clock hour.
//
// A tries window as long as the code lifetime means any one code overlaps at most two
// windows, so it faces at most 2×CodeTries guesses (10 by default: a 10^-7 chance),
// while a person who mistyped is never locked out for longer than one lifetime.
// Issuing a new code does not reset the wrong-code count (NIST SP 800-63B-4 §3.1.3),
// and neither does a success: the count simply ends with its window.
//
// A client network is the IPv4 address, or the /64 of an IPv6 address, because one
// IPv6 host usually holds a whole /64 and could otherwise change address per request.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Purposes a code can be issued for. A code verifies only for the purpose, tenant and
// subject it was issued for. Other purposes may be used if they are 1 to 32 characters
// from a-z, 0-9 and "_".
const (
	PurposeSignUp      = "signup"
	PurposeVerifyEmail = "verify_email"
	PurposeSignIn      = "signin"
	PurposeRecovery    = "recovery"
)

// Audit event types this package records.
const (
	EventIssued    = "otp.issued"
	EventVerified  = "otp.verified"
	EventFailed    = "otp.failed"
	EventThrottled = "otp.throttled"
)

// Reasons a ThrottledError gives.
const (
	ReasonSends = "too many codes sent to this address"
	ReasonIP    = "too many attempts from this network"
	ReasonTries = "too many wrong codes"
)

// MinKeySize is the shortest Service.Key accepted.
const MinKeySize = 16

// CodeLength is the number of digits in a code.
const CodeLength = 8

var (
	// ErrWrongCode means the code is wrong, expired, already used or superseded. The
	// cases are not told apart so that a guesser learns nothing; a page can say
	// "That code is not right or has expired."
	ErrWrongCode = errors.New("otp: code is not right or has expired")
	// ErrMalformed means the input is not 8 digits (spaces and dashes aside). It was
	// rejected before touching the database and does not count as a wrong try.
	ErrMalformed = errors.New("otp: a code is 8 digits")
)

// ThrottledError means a limit was reached; nothing was issued or verified. Match it
// with errors.As.
type ThrottledError struct {
	// RetryAfter is how long until the window that holds the limit ends, rounded up
	// to a whole second.
	RetryAfter time.Duration
	// Reason is one of the Reason constants; safe to show.
	Reason string
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("otp: %s; retry in %s", e.Reason, e.RetryAfter)
}

// Service issues and verifies codes.
type Service struct {
	Store store.Store
	Now   func() time.Time
	// Key is the server secret codes are hashed under: at least MinKeySize random
	// bytes, the same on every node, and never stored in the database. Changing it
	// invalidates every outstanding code.
	Key []byte

	// rand replaces crypto/rand in this package's tests; nil means crypto/rand.
	rand io.Reader
}

// IssueRequest describes a code to send.
type IssueRequest struct {
	TenantID string
	// Purpose is one of the Purpose constants; the artifact kind is "otp:"+Purpose.
	Purpose string
	// Subject is the normalized destination, e.g. a lower-cased email address.
	Subject string
	// IP is the client's address, for the per-network limit; empty skips that limit.
	IP string
	// Data is the caller's JSON (a pending sign-up's display name, …), handed back
	// unchanged by Verify.
	Data []byte
	// Policy is the tenant's throttles; zero fields take the defaults of
	// tenant.DefaultPolicy.
	Policy tenant.Throttles
	// Meta says who asked, for the audit event. Its IP defaults to IP and its actor
	// type to an anonymous user.
	Meta audit.Meta
}

// VerifyRequest describes a code a person typed. TenantID, Purpose and Subject must
// be those the code was issued for.
type VerifyRequest struct {
	TenantID string
	Purpose  string
	Subject  string
	// Code is the input as typed; white space and dashes are ignored.
	Code string
	// IP is the client's address, for the per-network limit; empty skips that limit.
	IP string
	// Policy is the tenant's throttles, as for IssueRequest.
	Policy tenant.Throttles
	// Meta says who is verifying, for the audit event, as for IssueRequest.
	Meta audit.Meta
}

// Redeemed is what a verified code was issued with.
type Redeemed struct {
	Subject  string
	Data     []byte // exactly the IssueRequest's Data
	IssuedAt time.Time
}

// envelope is what an artifact's Data holds. Gen records how many codes had been
// verified for the subject and purpose when this one was issued: a code issued before
// the latest success is superseded. Data is the caller's bytes, kept exact (base64).
type envelope struct {
	Gen  int    `json:"gen"`
	Data []byte `json:"data,omitempty"`
}

// Issue creates a code for req.Subject inside the caller's tx, so that the code, its
// audit event and the message that carries it commit together, and returns the code
// for that message. The code itself is never stored.
//
// Over a send limit it returns a *ThrottledError and issues nothing; the caller should
// roll back (returning the error from InTx does).
func (s *Service) Issue(ctx context.Context, tx store.Tx, req IssueRequest) (string, error) {
	return s.issue(ctx, tx, req, false)
}

// IssueDecoy does what Issue does for an address that has no account, so that neither
// the response, its timing nor the throttles reveal whether an account exists: it
// counts the send against the same limits (and returns the same *ThrottledError), and
// writes an artifact and audit event like Issue's. The artifact's hash is random, so
// no code redeems it. The caller sends no message, or sends one that says there is no
// account, as its flow requires.
func (s *Service) IssueDecoy(ctx context.Context, tx store.Tx, req IssueRequest) error {
	_, err := s.issue(ctx, tx, req, true)
	return err
}

func (s *Service) issue(ctx context.Context, tx store.Tx, req IssueRequest, decoy bool) (string, error) {
	if err := s.check(req.TenantID, req.Purpose, req.Subject); err != nil {
		return "", err
	}
	p := withDefaults(req.Policy)
	now := store.Micro(s.Now())

	// Count first, refuse after: Hit is atomic on every backend, so parallel requests
	// each see their own count and none slips past the limit.
	hour := fixedWindow(now, time.Hour)
	sends, err := tx.Hit(ctx, sendKey(req.TenantID, req.Purpose, req.Subject), hour.start, hour.end)
	if err != nil {
		return "", fmt.Errorf("otp: count sends: %w", err)
	}
	ipSends := 0
	if req.IP != "" {
		if ipSends, err = tx.Hit(ctx, ipSendKey(req.TenantID, req.IP), hour.start, hour.end); err != nil {
			return "", fmt.Errorf("otp: count sends: %w", err)
		}
	}
	switch {
	case sends > p.CodeSendsPerHour:
		return "", hour.throttled(now, ReasonSends)
	case ipSends > p.IPAttemptsPerHour:
		return "", hour.throttled(now, ReasonIP)
	}

	gen, err := tx.CounterValue(ctx, genKey(req.TenantID, req.Purpose, req.Subject), genWindow)
	if err != nil {
		return "", fmt.Errorf("otp: read generation: %w", err)
	}
	data, err := json.Marshal(envelope{Gen: gen, Data: req.Data})
	if err != nil {
		return "", fmt.Errorf("otp: encode data: %w", err)
	}
	a := &store.Artifact{
		Kind: kind(req.Purpose), TenantID: req.TenantID, Subject: req.Subject, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(p.CodeLifetime.D()),
	}
	var code string
	// The hash is unique per (tenant, purpose, subject, code), and rows stay until they
	// are swept, so a new code can collide with an old one: draw again.
	for range 3 {
		code = s.newCode()
		a.Hash = s.hash(req.TenantID, req.Purpose, req.Subject, code)
		if decoy {
			// Drawing and hashing a code anyway keeps the work the same as Issue's.
			a.Hash = s.randomHash()
		}
		if err = tx.PutArtifact(ctx, a); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("otp: store code: %w", err)
	}

	details := map[string]any{"purpose": req.Purpose, "expires_at": a.ExpiresAt}
	if decoy {
		details["decoy"] = true
	}
	err = audit.Record(ctx, tx, now, meta(req.Meta, req.IP), audit.Entry{
		Type: EventIssued, TenantID: req.TenantID, TargetType: targetType, TargetID: req.Subject,
		Details: details,
	})
	if err != nil {
		return "", err
	}
	if decoy {
		return "", nil
	}
	return code, nil
}

// targetType names what an otp audit event's target is: a normalized email or phone.
const targetType = "identifier"

func meta(m audit.Meta, ip string) audit.Meta {
	if m.ActorType == "" {
		m.ActorType = audit.ActorUser
	}
	if m.IP == "" {
		m.IP = ip
	}
	return m
}

func (s *Service) check(tenantID, purpose, subject string) error {
	switch {
	case len(s.Key) < MinKeySize:
		return fmt.Errorf("otp: key must be at least %d bytes", MinKeySize)
	case tenantID == "" || subject == "":
		return errors.New("otp: tenant and subject are required")
	case !validPurpose(purpose):
		return fmt.Errorf("otp: invalid purpose %q", purpose)
	}
	return nil
}

func validPurpose(p string) bool {
	if len(p) == 0 || len(p) > 32 {
		return false
	}
	for i := range len(p) {
		c := p[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func kind(purpose string) string { return "otp:" + purpose }

// withDefaults fills the zero (or invalid) fields of p from the default policy, so a
// caller that forgot the policy gets the secure limits, never "unlimited".
func withDefaults(p tenant.Throttles) tenant.Throttles {
	d := tenant.DefaultPolicy().Throttles
	if p.CodeTries <= 0 {
		p.CodeTries = d.CodeTries
	}
	if p.CodeSendsPerHour <= 0 {
		p.CodeSendsPerHour = d.CodeSendsPerHour
	}
	if p.IPAttemptsPerHour <= 0 {
		p.IPAttemptsPerHour = d.IPAttemptsPerHour
	}
	if p.CodeLifetime <= 0 {
		p.CodeLifetime = d.CodeLifetime
	}
	return p
}

// hash is the artifact hash of a code: HMAC-SHA256 under the server key over the
// tenant, purpose, subject and code. Binding all four means a code verifies only where
// it was issued, since RedeemArtifact looks rows up by kind and hash alone.
func (s *Service) hash(tenantID, purpose, subject, code string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(encode("otp-code", tenantID, purpose, subject, code)))
	return hex.EncodeToString(m.Sum(nil))
}

// randomHash looks like a hash but is the image of no code.
func (s *Service) randomHash() string {
	b := make([]byte, sha256.Size)
	s.read(b)
	return hex.EncodeToString(b)
}

// codeSpace is 10^CodeLength; draws at or above the largest multiple of it below 2^32
// are rejected, so every code is exactly equally likely.
const (
	codeSpace = 100_000_000
	drawLimit = (1 << 32) / codeSpace * codeSpace
)

func (s *Service) newCode() string {
	var b [4]byte
	for {
		s.read(b[:])
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if v < drawLimit {
			return fmt.Sprintf("%0*d", CodeLength, v%codeSpace)
		}
	}
}

func (s *Service) read(b []byte) {
	if s.rand == nil {
		rand.Read(b) // crypto/rand.Read never fails on supported platforms.
		return
	}
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic("otp: test random source: " + err.Error())
	}
}
