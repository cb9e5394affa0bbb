package otp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Verify redeems the code req.Code for req.Subject and returns what it was issued with.
//
// Verify runs its own transaction, so that a wrong try is counted even though the
// verification fails; the caller must not hold one (on SQLite, a transaction opened
// inside another waits for itself for ever). The caller's follow-up (creating the user,
// marking the email verified) goes in a transaction of its own after Verify returns.
//
// Errors:
//   - ErrMalformed: the input is not 8 digits; nothing was counted or recorded.
//   - *ThrottledError: too many wrong codes for this subject and purpose, or from this
//     network. It is returned even when the code is right, so that a guesser who hit
//     the limit cannot learn which guess would have worked; the code stays unused.
//   - ErrWrongCode: wrong, expired, already used, or superseded by a later success for
//     the same subject and purpose. The try is counted against the subject and the
//     network.
//
// A success supersedes every other code outstanding for the same tenant, purpose and
// subject, so a copy of an older message is worth nothing once one code has been used.
func (s *Service) Verify(ctx context.Context, req VerifyRequest) (*Redeemed, error) {
	code, err := normalizeCode(req.Code)
	if err != nil {
		return nil, err
	}
	if err := s.check(req.TenantID, req.Purpose, req.Subject); err != nil {
		return nil, err
	}
	p := withDefaults(req.Policy)
	now := store.Micro(s.Now())
	hour := fixedWindow(now, time.Hour)
	tries := fixedWindow(now, p.CodeLifetime.D())
	k := kind(req.Purpose)
	hash := s.hash(req.TenantID, req.Purpose, req.Subject, code)
	m := meta(req.Meta, req.IP)
	entry := func(typ, result, severity string, details map[string]any) audit.Entry {
		details["purpose"] = req.Purpose
		return audit.Entry{
			Type: typ, TenantID: req.TenantID, TargetType: targetType, TargetID: req.Subject,
			Result: result, Severity: severity, Details: details,
		}
	}

	var redeemed *Redeemed
	var outcome error
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		// InTx may run this function again: start from nothing each time.
		redeemed, outcome = nil, nil

		// Hitting a counter of this subject first takes its row lock (PostgreSQL) or
		// runs under the only writer (SQLite) until commit. Concurrent verifications of
		// one subject therefore read the wrong-code count one after another, and
		// parallel guesses cannot all slip in under the limit.
		if _, err := tx.Hit(ctx, attemptsKey(req.TenantID, req.Purpose, req.Subject), tries.start, tries.end); err != nil {
			return fmt.Errorf("otp: count attempts: %w", err)
		}
		var throttle *ThrottledError
		if req.IP != "" {
			n, err := tx.CounterValue(ctx, ipWrongKey(req.TenantID, req.IP), hour.start)
			if err != nil {
				return fmt.Errorf("otp: read wrong codes: %w", err)
			}
			if n >= p.IPAttemptsPerHour {
				throttle = hour.throttled(now, ReasonIP)
			}
		}
		if throttle == nil {
			n, err := tx.CounterValue(ctx, triesKey(req.TenantID, req.Purpose, req.Subject), tries.start)
			if err != nil {
				return fmt.Errorf("otp: read wrong codes: %w", err)
			}
			if n >= p.CodeTries {
				throttle = tries.throttled(now, ReasonTries)
			}
		}
		if throttle != nil {
			outcome = throttle
			return audit.Record(ctx, tx, now, m, entry(EventThrottled, audit.Denied, audit.Medium,
				map[string]any{"reason": throttle.Reason}))
		}

		r, err := s.redeem(ctx, tx, req, k, hash, now)
		if err != nil {
			return err
		}
		if r != nil {
			_, err := tx.Hit(ctx, genKey(req.TenantID, req.Purpose, req.Subject), genWindow, now.Add(p.CodeLifetime.D()+24*time.Hour))
			if err != nil {
				return fmt.Errorf("otp: supersede other codes: %w", err)
			}
			redeemed = r
			return audit.Record(ctx, tx, now, m, entry(EventVerified, audit.Success, audit.Info, map[string]any{}))
		}

		outcome = ErrWrongCode
		if _, err := tx.Hit(ctx, triesKey(req.TenantID, req.Purpose, req.Subject), tries.start, tries.end); err != nil {
			return fmt.Errorf("otp: count wrong code: %w", err)
		}
		if req.IP != "" {
			if _, err := tx.Hit(ctx, ipWrongKey(req.TenantID, req.IP), hour.start, hour.end); err != nil {
				return fmt.Errorf("otp: count wrong code: %w", err)
			}
		}
		return audit.Record(ctx, tx, now, m, entry(EventFailed, audit.Failure, audit.Low, map[string]any{}))
	})
	if err != nil {
		return nil, err
	}
	if outcome != nil {
		return nil, outcome
	}
	return redeemed, nil
}

// redeem marks the code used and returns what it was issued with, or nil when no live
// code of this tenant, purpose and subject has that hash or the code was superseded.
func (s *Service) redeem(ctx context.Context, tx store.Tx, req VerifyRequest, kind, hash string, now time.Time) (*Redeemed, error) {
	a, err := tx.RedeemArtifact(ctx, kind, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("otp: redeem: %w", err)
	}
	// The hash binds tenant and subject already; a mismatch means a row was altered.
	if a.TenantID != req.TenantID || a.Subject != req.Subject {
		return nil, nil
	}
	var env envelope
	if err := json.Unmarshal(a.Data, &env); err != nil {
		return nil, fmt.Errorf("otp: stored code data: %w", err)
	}
	gen, err := tx.CounterValue(ctx, genKey(req.TenantID, req.Purpose, req.Subject), genWindow)
	if err != nil {
		return nil, fmt.Errorf("otp: read generation: %w", err)
	}
	// Issued before the latest success: superseded. Redeeming it above is harmless, as
	// it could never verify again anyway.
	if env.Gen < gen {
		return nil, nil
	}
	return &Redeemed{Subject: a.Subject, Data: env.Data, IssuedAt: a.CreatedAt}, nil
}

// maxCodeInput bounds the input normalizeCode reads: a code with generous spacing is far
// shorter, and anything longer is not a code.
const maxCodeInput = 64

// normalizeCode returns the 8 ASCII digits of in, ignoring white space and dashes of
// any script (people paste "1234-5678", "1234 5678" or a code with a trailing newline).
// Anything else, including digits of other scripts, makes it ErrMalformed.
func normalizeCode(in string) (string, error) {
	if len(in) > maxCodeInput {
		return "", ErrMalformed
	}
	var b [CodeLength]byte
	n := 0
	for _, r := range in {
		switch {
		case r >= '0' && r <= '9':
			if n == CodeLength {
				return "", ErrMalformed
			}
			b[n] = byte(r)
			n++
		case unicode.IsSpace(r) || unicode.Is(unicode.Dash, r):
		default:
			return "", ErrMalformed
		}
	}
	if n != CodeLength {
		return "", ErrMalformed
	}
	return string(b[:]), nil
}
