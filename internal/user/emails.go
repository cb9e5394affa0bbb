package user

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// MaxEmails bounds the email addresses one account may hold.
const MaxEmails = 10

// Errors of email management. Each names a case a page explains in its own words;
// none says anything about another account except ErrEmailTaken, which callers
// must never show (see EmailTaken).
var (
	// ErrEmailNotFound means the address is not on the account.
	ErrEmailNotFound = errors.New("user: that email address is not on this account")
	// ErrEmailUnverified means only a verified address may become primary.
	ErrEmailUnverified = errors.New("user: that email address is not verified")
	// ErrEmailTaken means another account holds the address. Pages treat it like
	// a wrong code, so that adding an address never reveals who else has it.
	ErrEmailTaken = errors.New("user: that email address belongs to another account")
	// ErrLastSignInMethod means removing the address would leave the account with
	// no way in: no passkey and no other verified address.
	ErrLastSignInMethod = errors.New("user: this email address is the account's only way in")
	// ErrTooManyEmails means the account already holds MaxEmails addresses.
	ErrTooManyEmails = errors.New("user: too many email addresses")
)

// EmailState says what adding an address to an account would mean.
type EmailState int

// Email states.
const (
	// EmailNew: no account holds the address; proving it by code adds it.
	EmailNew EmailState = iota
	// EmailUnverified: the account holds it unverified; proving it verifies it.
	EmailUnverified
	// EmailVerified: the account holds it verified already.
	EmailVerified
	// EmailTaken: another account holds it. The caller must answer exactly as for
	// EmailNew (send that address a notice instead of a code, with a decoy code).
	EmailTaken
)

// CheckEmail normalizes raw and reports what adding it to userID's account would
// mean. It returns an ErrInvalid error for an address that is not one, and
// ErrTooManyEmails when the account is full and the address is not on it yet.
func CheckEmail(ctx context.Context, tx store.Tx, tenantID, userID, raw string) (string, EmailState, error) {
	addr, err := NormalizeEmail(raw)
	if err != nil {
		return "", 0, err
	}
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return "", 0, err
	}
	emails := 0
	for _, id := range ids {
		if id.Kind != store.IdentEmail {
			continue
		}
		emails++
		if id.Value == addr {
			if id.Verified {
				return addr, EmailVerified, nil
			}
			return addr, EmailUnverified, nil
		}
	}
	// The account's own limit comes first: answering "full" only for addresses nobody
	// owns would tell a full account which addresses have accounts.
	if emails >= MaxEmails {
		return addr, 0, ErrTooManyEmails
	}
	owner, err := tx.FindUserByIdentifier(ctx, tenantID, store.IdentEmail, addr)
	switch {
	case err == nil && owner.ID != userID:
		return addr, EmailTaken, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", 0, err
	}
	return addr, EmailNew, nil
}

// ConfirmEmail records, inside tx, that the user proved control of addr (by a code
// sent to it): a new address is added verified, an unverified one of the account
// becomes verified. The address becomes primary when the account has no verified
// primary address. The change is audited and every verified address of the account,
// the new one included, is told.
//
// It returns ErrEmailTaken when another account took the address meanwhile, and
// ErrTooManyEmails when the account is full.
func ConfirmEmail(ctx context.Context, tx store.Tx, now time.Time, tenantID, userID, addr string, m audit.Meta) (*store.Identifier, error) {
	now = store.Micro(now)
	addr, state, err := CheckEmail(ctx, tx, tenantID, userID, addr)
	if err != nil {
		return nil, err
	}
	if state == EmailTaken {
		return nil, ErrEmailTaken
	}
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	var target, primary *store.Identifier
	for i := range ids {
		id := &ids[i]
		if id.Kind != store.IdentEmail {
			continue
		}
		if id.Value == addr {
			target = id
		}
		if id.Primary {
			primary = id
		}
	}
	typ := audit.EmailVerified
	switch {
	case target == nil:
		typ = audit.EmailAdded
		target = &store.Identifier{
			ID: secret.ID(), TenantID: tenantID, UserID: userID, Kind: store.IdentEmail, Value: addr,
			Verified: true, CreatedAt: now, VerifiedAt: now,
		}
		if primary == nil || !primary.Verified {
			target.Primary = true
		}
		if err := tx.AddIdentifier(ctx, target); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, ErrEmailTaken
			}
			return nil, err
		}
	case target.Verified:
		// Proved twice (a second code for an address verified meanwhile): nothing changes.
		return target, nil
	default:
		target.Verified, target.VerifiedAt = true, now
		if primary == nil || !primary.Verified {
			target.Primary = true
		}
		if err := tx.UpdateIdentifier(ctx, target); err != nil {
			return nil, err
		}
	}
	// An unverified primary gives way to the first verified address.
	if target.Primary && primary != nil && primary.ID != target.ID {
		primary.Primary = false
		if err := tx.UpdateIdentifier(ctx, primary); err != nil {
			return nil, err
		}
	}
	if err := audit.Record(ctx, tx, now, m, audit.Entry{
		Type: typ, TenantID: tenantID, TargetType: "user", TargetID: userID,
		Details: map[string]any{"email": addr, "identifier": target.ID, "primary": target.Primary},
	}); err != nil {
		return nil, err
	}
	what := "The email address " + addr + " was added to your account. Security notices and recovery codes can now be sent to it."
	subject := "An email address was added to your account"
	if typ == audit.EmailVerified {
		what = "The email address " + addr + " on your account was verified. Security notices and recovery codes can now be sent to it."
		subject = "An email address on your account was verified"
	}
	_, err = NotifyVerifiedEmails(ctx, tx, tenantID, userID, Notice{
		Key: "email-confirmed:" + target.ID, Subject: subject, What: what, At: now, IP: m.IP, UserAgent: m.UserAgent,
	})
	return target, err
}

// MakePrimaryEmail makes the verified address identID the account's primary one,
// inside tx, audits it and tells every verified address (the old primary too).
func MakePrimaryEmail(ctx context.Context, tx store.Tx, now time.Time, tenantID, userID, identID string, m audit.Meta) (*store.Identifier, error) {
	now = store.Micro(now)
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	target, old := findEmail(ids, identID), primaryEmail(ids)
	switch {
	case target == nil:
		return nil, ErrEmailNotFound
	case !target.Verified:
		return nil, ErrEmailUnverified
	case target.Primary:
		return target, nil
	}
	oldAddr := ""
	if old != nil {
		oldAddr = old.Value
		old.Primary = false
		if err := tx.UpdateIdentifier(ctx, old); err != nil {
			return nil, err
		}
	}
	target.Primary = true
	if err := tx.UpdateIdentifier(ctx, target); err != nil {
		return nil, err
	}
	if err := audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.EmailPrimaryChanged, TenantID: tenantID, TargetType: "user", TargetID: userID,
		Details: map[string]any{"email": target.Value, "previous": oldAddr, "identifier": target.ID},
	}); err != nil {
		return nil, err
	}
	what := "The primary email address of your account is now " + target.Value + "."
	var extra []string
	if oldAddr != "" {
		what += " It was " + oldAddr + "."
		if old.Verified {
			extra = append(extra, oldAddr)
		}
	}
	_, err = NotifyVerifiedEmails(ctx, tx, tenantID, userID, Notice{
		// Primary may move back and forth; each move is its own notice.
		Key:     "email-primary:" + target.ID + ":" + strconv.FormatInt(now.UnixMicro(), 10),
		Subject: "Your primary email address changed", What: what, At: now, IP: m.IP, UserAgent: m.UserAgent,
	}, extra...)
	return target, err
}

// RemoveEmail removes the address identID from the account inside tx, audits it and
// tells every verified address, the removed one included. Removing the primary
// address makes the oldest other verified address primary. It returns
// ErrLastSignInMethod instead when the account has no passkey and this is its last
// verified address.
func RemoveEmail(ctx context.Context, tx store.Tx, now time.Time, tenantID, userID, identID string, m audit.Meta) (*store.Identifier, error) {
	now = store.Micro(now)
	if _, err := Lock(ctx, tx, tenantID, userID); err != nil {
		return nil, err
	}
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	target := findEmail(ids, identID)
	if target == nil {
		return nil, ErrEmailNotFound
	}
	var successor *store.Identifier
	for i := range ids {
		id := &ids[i]
		// Identifiers come oldest first, so the first match is the oldest.
		if id.Kind == store.IdentEmail && id.Verified && id.ID != target.ID && successor == nil {
			successor = id
		}
	}
	if target.Verified && successor == nil {
		creds, err := tx.ListCredentials(ctx, tenantID, userID)
		if err != nil {
			return nil, err
		}
		passkeys := 0
		for _, c := range creds {
			if c.Kind == store.CredPasskey {
				passkeys++
			}
		}
		if passkeys == 0 {
			return nil, ErrLastSignInMethod
		}
	}
	if err := tx.DeleteIdentifier(ctx, tenantID, target.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrEmailNotFound
		}
		return nil, err
	}
	if target.Primary && successor != nil {
		successor.Primary = true
		if err := tx.UpdateIdentifier(ctx, successor); err != nil {
			return nil, err
		}
	}
	details := map[string]any{"email": target.Value, "identifier": target.ID, "was_primary": target.Primary}
	if target.Primary && successor != nil {
		details["new_primary"] = successor.Value
	}
	if err := audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.EmailRemoved, TenantID: tenantID, TargetType: "user", TargetID: userID, Severity: audit.Low,
		Details: details,
	}); err != nil {
		return nil, err
	}
	var extra []string
	if target.Verified {
		extra = append(extra, target.Value)
	}
	_, err = NotifyVerifiedEmails(ctx, tx, tenantID, userID, Notice{
		Key: "email-removed:" + target.ID, Subject: "An email address was removed from your account",
		What: "The email address " + target.Value + " was removed from your account. It will no longer receive security notices or recovery codes.",
		At:   now, IP: m.IP, UserAgent: m.UserAgent,
	}, extra...)
	return target, err
}

// ConfirmEmail runs ConfirmEmail in a transaction of its own.
func (s *Service) ConfirmEmail(ctx context.Context, tenantID, userID, addr string, m audit.Meta) (*store.Identifier, error) {
	var out *store.Identifier
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = ConfirmEmail(ctx, tx, s.Now(), tenantID, userID, addr, m)
		return err
	})
	return out, err
}

// MakePrimaryEmail runs MakePrimaryEmail in a transaction of its own.
func (s *Service) MakePrimaryEmail(ctx context.Context, tenantID, userID, identID string, m audit.Meta) (*store.Identifier, error) {
	var out *store.Identifier
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = MakePrimaryEmail(ctx, tx, s.Now(), tenantID, userID, identID, m)
		return err
	})
	return out, err
}

// RemoveEmail runs RemoveEmail in a transaction of its own.
func (s *Service) RemoveEmail(ctx context.Context, tenantID, userID, identID string, m audit.Meta) (*store.Identifier, error) {
	var out *store.Identifier
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = RemoveEmail(ctx, tx, s.Now(), tenantID, userID, identID, m)
		return err
	})
	return out, err
}

func findEmail(ids []store.Identifier, identID string) *store.Identifier {
	for i := range ids {
		if ids[i].Kind == store.IdentEmail && ids[i].ID == identID {
			return &ids[i]
		}
	}
	return nil
}

func primaryEmail(ids []store.Identifier) *store.Identifier {
	for i := range ids {
		if ids[i].Kind == store.IdentEmail && ids[i].Primary {
			return &ids[i]
		}
	}
	return nil
}
