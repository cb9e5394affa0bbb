package recovery

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/otp"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// Saved recovery codes: CodeCount of them, each CodeLength symbols of a 32-symbol
// alphabet (80 bits, above the 64 that NIST SP 800-63B-4 §4.2 asks for), shown once,
// stored as SHA-256 hashes, used at most once.
const (
	CodeCount  = 10
	CodeLength = 16
)

// randomSymbols draws n symbols of the alphabet. 256 is a multiple of 32, so taking
// the low five bits of each byte keeps every symbol equally likely.
func randomSymbols(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

func codeHash(normalized string) string { return secret.Hash("recovery-code:" + normalized) }

// GenerateCodes replaces the user's recovery codes with a new set and returns it,
// grouped for reading. The session must be a fresh passkey confirmation that is not
// provisional: a recovered attacker must not be able to mint a way back in.
func (s *Service) GenerateCodes(ctx context.Context, sess *store.Session, c Client) ([]string, error) {
	var codes []string
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := policyOf(ctx, tx, sess.TenantID)
		if err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, sess.TenantID, sess.UserID)
		if err != nil {
			return err
		}
		now := store.Micro(s.Now())
		if sess.Flow == session.FlowProvisional && OnHold(u, now) {
			return &HoldError{Until: u.HoldUntil}
		}
		if passkey.RequireStepUp(sess, p, now) != nil {
			return ErrStepUp
		}
		if !p.Methods.RecoveryCode.Enroll {
			return ErrDisabled
		}
		codes = make([]string, CodeCount)
		hashes := make([]string, CodeCount)
		for i := range codes {
			raw := randomSymbols(CodeLength)
			codes[i], hashes[i] = group(raw), codeHash(raw)
		}
		if err := tx.ReplaceRecoveryCodes(ctx, sess.TenantID, sess.UserID, hashes, now); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, now, userMeta(c, u.ID, sess.ID, sess.Flow), audit.Entry{
			Type: audit.RecoveryCodesGenerated, TenantID: sess.TenantID, TargetType: "user", TargetID: u.ID, Severity: audit.Low,
			Details: map[string]any{"count": CodeCount},
		}); err != nil {
			return err
		}
		_, err = user.NotifyVerifiedEmails(ctx, tx, sess.TenantID, u.ID, user.Notice{
			Key: "recovery-codes:" + secret.ID(), Subject: "New recovery codes were created for your account",
			What: "A new set of recovery codes was created for your account. Any codes you saved before no longer work.",
			At:   now, IP: c.IP, UserAgent: c.UserAgent,
		})
		return err
	})
	return codes, err
}

// CodesLeft returns how many unused recovery codes the user has.
func (s *Service) CodesLeft(ctx context.Context, tenantID, userID string) (int, error) {
	var n int
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.CountRecoveryCodes(ctx, tenantID, userID)
		return err
	})
	return n, err
}

// useCode checks a recovery code inside tx. It counts the try first, against the
// account and the client's network, and returns an *otp.ThrottledError past either
// limit. The caller must commit tx even when the code is wrong (useCode then returns
// ErrWrongRecoveryCode after recording the failure), or a guesser's tries would roll
// back with it.
func (s *Service) useCode(ctx context.Context, tx store.Tx, u *store.User, input string, c Client, sessionID string) error {
	p, err := policyOf(ctx, tx, u.TenantID)
	if err != nil {
		return err
	}
	now := store.Micro(s.Now())
	hour := now.Truncate(time.Hour)
	tries, err := tx.Hit(ctx, "recovery-code:"+u.TenantID+":"+u.ID, hour, hour.Add(2*time.Hour))
	if err != nil {
		return err
	}
	ipTries := 0
	if c.IP != "" {
		if ipTries, err = tx.Hit(ctx, "recovery-code-ip:"+u.TenantID+":"+c.IP, hour, hour.Add(2*time.Hour)); err != nil {
			return err
		}
	}
	m := userMeta(c, u.ID, sessionID, session.FlowRecovery)
	if tries > p.Throttles.CodeTries || ipTries > p.Throttles.IPAttemptsPerHour {
		reason := otp.ReasonTries
		if ipTries > p.Throttles.IPAttemptsPerHour {
			reason = otp.ReasonIP
		}
		if err := audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.RecoveryCodeFailed, TenantID: u.TenantID,
			TargetType: "user", TargetID: u.ID, Result: audit.Denied, Severity: audit.Medium,
			Details: map[string]any{"reason": reason}}); err != nil {
			return err
		}
		return &otp.ThrottledError{RetryAfter: hour.Add(time.Hour).Sub(now).Round(time.Second) + time.Second, Reason: reason}
	}
	raw := normalize(input, CodeLength)
	if raw == "" {
		err = store.ErrNotFound
	} else {
		err = tx.UseRecoveryCode(ctx, u.TenantID, u.ID, codeHash(raw), now)
	}
	switch {
	case err == nil:
	case err == store.ErrNotFound || isNotFound(err):
		if err := audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.RecoveryCodeFailed, TenantID: u.TenantID,
			TargetType: "user", TargetID: u.ID, Result: audit.Failure, Severity: audit.Low,
			Details: map[string]any{"tries_this_hour": tries}}); err != nil {
			return err
		}
		return ErrWrongRecoveryCode
	default:
		return err
	}
	left, err := tx.CountRecoveryCodes(ctx, u.TenantID, u.ID)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.RecoveryCodeUsed, TenantID: u.TenantID,
		TargetType: "user", TargetID: u.ID, Severity: audit.Medium, Details: map[string]any{"left": left}}); err != nil {
		return err
	}
	_, err = user.NotifyVerifiedEmails(ctx, tx, u.TenantID, u.ID, user.Notice{
		Key: "recovery-code-used:" + secret.ID(), Subject: "A recovery code was used on your account",
		What: fmt.Sprintf("One of your recovery codes was used to recover your account. %d unused codes are left.", left),
		At:   now, IP: c.IP, UserAgent: c.UserAgent,
	})
	return err
}
