// Package user manages users, their identifiers (emails, phones) and roles.
package user

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Roles.
const (
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// ErrInvalid wraps input errors whose message is safe to show.
var ErrInvalid = errors.New("invalid")

// NormalizeEmail returns the canonical form of a bare email address: trimmed, domain
// lower-cased and, because people type addresses in any case, the local part too.
// It refuses display-name forms, comments, quoting and characters that do not print
// (zero-width, direction overrides, non-ASCII spaces), which would let two stored
// addresses look alike to the people who read them.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: %s is not an email address", ErrInvalid, quoteInput(s))
	}
	// Lower-case first so that the checks below hold for what is stored: a few
	// letters grow when lower-cased, and the stored form must normalize to itself.
	s = strings.ToLower(s)
	if len(s) > 254 {
		return "", fmt.Errorf("%w: an email address has at most 254 characters", ErrInvalid)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == ' ' {
			return "", fmt.Errorf("%w: %s is not an email address", ErrInvalid, quoteInput(s))
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.Count(s, "@") != 1 {
		return "", fmt.Errorf("%w: %s is not an email address", ErrInvalid, quoteInput(s))
	}
	return s, nil
}

// NormalizePhone returns an E.164 number (+, a country code that does not start with
// 0, 8-15 digits in all), dropping spaces, dashes, dots and parentheses.
func NormalizePhone(s string) (string, error) {
	bad := func() (string, error) {
		return "", fmt.Errorf("%w: %s is not a phone number in international form (+15551234567)", ErrInvalid, quoteInput(s))
	}
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return bad()
		}
		if b.Len() > 16 {
			return bad()
		}
	}
	out := b.String()
	if !strings.HasPrefix(out, "+") || len(out) < 9 || len(out) > 16 || out[1] == '0' {
		return bad()
	}
	return out, nil
}

// quoteInput quotes what someone typed for an error message, cut short so that a huge
// input does not become a huge error (and log line).
func quoteInput(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == RoleOperator || r == RoleAdmin }

// Privileged reports whether u holds a role that recovery rules treat specially.
func Privileged(u *store.User) bool {
	return slices.Contains(u.Roles, RoleOperator) || slices.Contains(u.Roles, RoleAdmin)
}

// Service creates and changes users.
type Service struct {
	Store store.Store
	Now   func() time.Time
}

// NewUser is the input of Create.
type NewUser struct {
	// ID, when set, is the id to use (a sign-up ceremony fixes it in advance as the
	// passkey's user handle); otherwise a random one is made.
	ID            string
	DisplayName   string
	Email         string
	EmailVerified bool
	Phone         string
	PhoneVerified bool
	Roles         []string
}

// Create adds a user with its identifiers in one transaction and audits it.
func (s *Service) Create(ctx context.Context, tenantID string, in NewUser, m audit.Meta) (*store.User, error) {
	var u *store.User
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		u, err = Create(ctx, tx, s.Now(), tenantID, in, m)
		return err
	})
	return u, err
}

// Create adds a user inside tx; see Service.Create.
func Create(ctx context.Context, tx store.Tx, now time.Time, tenantID string, in NewUser, m audit.Meta) (*store.User, error) {
	if !utf8.ValidString(in.DisplayName) || len(in.DisplayName) > 200 {
		return nil, fmt.Errorf("%w: display name must be valid text of at most 200 characters", ErrInvalid)
	}
	for _, r := range in.Roles {
		if !ValidRole(r) {
			return nil, fmt.Errorf("%w: unknown role %q (known: operator, admin)", ErrInvalid, r)
		}
	}
	var idents []store.Identifier
	if in.Email != "" {
		e, err := NormalizeEmail(in.Email)
		if err != nil {
			return nil, err
		}
		idents = append(idents, store.Identifier{Kind: store.IdentEmail, Value: e, Verified: in.EmailVerified, Primary: true})
	}
	if in.Phone != "" {
		p, err := NormalizePhone(in.Phone)
		if err != nil {
			return nil, err
		}
		idents = append(idents, store.Identifier{Kind: store.IdentPhone, Value: p, Verified: in.PhoneVerified, Primary: true})
	}
	now = store.Micro(now)
	roles := slices.Clone(in.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	id := in.ID
	if id == "" {
		id = secret.ID()
	}
	u := &store.User{
		ID: id, TenantID: tenantID, DisplayName: in.DisplayName, Status: store.UserActive,
		Roles: roles, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	for i := range idents {
		id := &idents[i]
		id.ID, id.TenantID, id.UserID, id.CreatedAt = secret.ID(), tenantID, u.ID, now
		if id.Verified {
			id.VerifiedAt = now
		}
		if err := tx.AddIdentifier(ctx, id); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, fmt.Errorf("%w: that %s already belongs to another user", ErrInvalid, id.Kind)
			}
			return nil, err
		}
	}
	err := audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.UserCreated, TenantID: tenantID, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"roles": u.Roles, "identifiers": len(idents)},
	})
	return u, err
}

// Get returns the user or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, tenantID, id string) (*store.User, []store.Identifier, error) {
	var u *store.User
	var idents []store.Identifier
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if u, err = tx.GetUser(ctx, tenantID, id); err != nil {
			return err
		}
		idents, err = tx.ListIdentifiers(ctx, tenantID, id)
		return err
	})
	return u, idents, err
}

// Find resolves "id", an email or a phone number to a user.
func (s *Service) Find(ctx context.Context, tenantID, ref string) (*store.User, error) {
	var u *store.User
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		switch {
		case strings.Contains(ref, "@"):
			var e string
			if e, err = NormalizeEmail(ref); err != nil {
				return err
			}
			u, err = tx.FindUserByIdentifier(ctx, tenantID, store.IdentEmail, e)
		case strings.HasPrefix(ref, "+"):
			var p string
			if p, err = NormalizePhone(ref); err != nil {
				return err
			}
			u, err = tx.FindUserByIdentifier(ctx, tenantID, store.IdentPhone, p)
		default:
			u, err = tx.GetUser(ctx, tenantID, ref)
		}
		return err
	})
	return u, err
}

// List returns users matching q.
func (s *Service) List(ctx context.Context, tenantID string, q store.UserQuery) ([]store.User, error) {
	var out []store.User
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListUsers(ctx, tenantID, q)
		return err
	})
	return out, err
}

// SetStatus locks, unlocks or disables a user. Locking or disabling also revokes every
// session of the user in the same transaction, so the change takes effect at once.
func (s *Service) SetStatus(ctx context.Context, tenantID, userID, status, reason string, m audit.Meta) (*store.User, error) {
	var typ string
	switch status {
	case store.UserLocked:
		typ = audit.UserLocked
	case store.UserActive:
		typ = audit.UserUnlocked
	case store.UserDisabled:
		typ = audit.UserDisabled
	default:
		return nil, fmt.Errorf("%w: unknown status %q", ErrInvalid, status)
	}
	var u *store.User
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if u, err = tx.GetUser(ctx, tenantID, userID); err != nil {
			return err
		}
		if u.Status == status {
			return nil
		}
		now := store.Micro(s.Now())
		prev := u.Status
		u.Status, u.UpdatedAt = status, now
		if err := tx.SetUserStatus(ctx, tenantID, userID, status, now); err != nil {
			return err
		}
		revoked, grants := 0, 0
		if status != store.UserActive {
			if revoked, err = tx.RevokeUserSessions(ctx, tenantID, userID, "", now, "user "+status); err != nil {
				return err
			}
			// A locked or disabled account's applications lose their refresh tokens too.
			if grants, err = tx.RevokeUserGrants(ctx, tenantID, userID, "", now, "user "+status); err != nil {
				return err
			}
		}
		sev := audit.Info
		if status != store.UserActive {
			sev = audit.Medium
		}
		return audit.Record(ctx, tx, now, m, audit.Entry{
			Type: typ, TenantID: tenantID, TargetType: "user", TargetID: userID, Severity: sev,
			Details: map[string]any{"from": prev, "to": status, "reason": reason, "sessions_revoked": revoked, "app_grants_revoked": grants},
		})
	})
	return u, err
}

// Lock serializes changes to one account's sign-in methods inside tx: it rewrites the
// user row unchanged, which holds the row lock until commit on PostgreSQL (SQLite
// runs one writer at a time anyway). Two concurrent removals then cannot both see
// "one method left" and leave the account with none.
func Lock(ctx context.Context, tx store.Tx, tenantID, userID string) (*store.User, error) {
	u, err := tx.GetUser(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	if err := tx.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}
