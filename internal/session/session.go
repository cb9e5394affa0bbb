// Package session keeps server-side browser sessions and the assurance they carry:
// how the person signed in (amr, acr), through which flow, when and from where.
package session

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Authentication context class references.
const (
	ACRPhishingResistant = "urn:gatehouse:acr:phr"
	ACRMultiFactor       = "urn:gatehouse:acr:mfa"
	ACRSingleFactor      = "urn:gatehouse:acr:sfa"
)

// Authentication method references (RFC 8176).
const (
	AMRHardwareKey = "hwk"
	AMRSoftwareKey = "swk"
	AMRUser        = "user"
	AMROTP         = "otp"
	AMRSMS         = "sms"
	AMRPassword    = "pwd"
	AMRMFA         = "mfa"
)

// Flows a session can come from.
const (
	FlowNormal     = "normal"
	FlowRecovery   = "recovery"
	FlowTAP        = "tap"
	FlowDeviceCode = "device_code"
	// FlowProvisional marks a session signed in with a credential enrolled during a
	// recovery hold, while the hold lasts: it is not phishing-resistant for any
	// purpose (no step-up, enrollment, removal or acr=phr) until the hold ends.
	FlowProvisional = "provisional"
)

// ErrNoSession means the request carries no valid session.
var ErrNoSession = errors.New("no session")

// Manager creates, finds and revokes sessions. Lifetimes come from each tenant's
// policy (sessions.idle, sessions.absolute).
type Manager struct {
	Store      store.Store
	Now        func() time.Time
	CookieName string // "__Host-gh_session", or "gh_session" on http://localhost
	Secure     bool
}

// New describes a session to create.
type New struct {
	TenantID   string
	UserID     string
	AMR        []string
	ACR        string
	Flow       string
	IP         string
	Network    string
	UserAgent  string
	Restricted bool
	// CredentialID is the credential (store id) that authenticated the session, so
	// removing that credential can sign the session out.
	CredentialID string
	// Policy, when the caller already read it in this transaction, saves reading the
	// tenant's session lifetimes again.
	Policy *tenant.Policy
}

// Create stores a new session inside tx, audits it, and returns the cookie value.
// The value is returned only here; the store keeps its hash.
func (m *Manager) Create(ctx context.Context, tx store.Tx, n New) (string, *store.Session, error) {
	if n.Flow == "" {
		n.Flow = FlowNormal
	}
	p := n.Policy
	if p == nil {
		cur, err := tenant.CurrentPolicy(ctx, tx, n.TenantID)
		if err != nil {
			return "", nil, err
		}
		p = &cur
	}
	now := store.Micro(m.Now())
	token := secret.Token(32)
	s := &store.Session{
		ID: secret.ID(), TokenHash: secret.Hash(token), TenantID: n.TenantID, UserID: n.UserID,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(p.Sessions.Idle.D()), ExpiresAt: now.Add(p.Sessions.Absolute.D()),
		AuthTime: now, AMR: slices.Clone(n.AMR), ACR: n.ACR, Flow: n.Flow, IP: n.IP, Network: n.Network,
		UserAgent: truncate(n.UserAgent, 512), Restricted: n.Restricted, CredentialID: n.CredentialID,
	}
	if err := tx.CreateSession(ctx, s); err != nil {
		return "", nil, err
	}
	err := audit.Record(ctx, tx, now, audit.Meta{
		ActorType: audit.ActorUser, ActorID: n.UserID, IP: n.IP, Network: n.Network,
		UserAgent: n.UserAgent, SessionID: s.ID, Flow: n.Flow,
	}, audit.Entry{
		Type: audit.SessionCreated, TenantID: n.TenantID, TargetType: "session", TargetID: s.ID,
		Details: map[string]any{"amr": s.AMR, "acr": s.ACR, "restricted": s.Restricted},
	})
	return token, s, err
}

// SetCookie writes the session cookie: host-only, Secure on https, HttpOnly,
// SameSite=Lax, path "/" as the __Host- prefix requires.
func (m *Manager) SetCookie(w http.ResponseWriter, token string, s *store.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: m.CookieName, Value: token, Path: "/", Secure: m.Secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Expires: s.ExpiresAt,
	})
}

// ClearCookie removes the session cookie from the browser.
func (m *Manager) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: m.CookieName, Value: "", Path: "/", Secure: m.Secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// touchEvery limits last-seen writes: a session read many times a minute is written at
// most once a minute, so browsing costs reads, not writes.
const touchEvery = time.Minute

// Lookup returns the live session of the request for tenantID, or ErrNoSession when
// the cookie is missing, malformed, unknown, revoked, expired, or for another tenant.
func (m *Manager) Lookup(ctx context.Context, r *http.Request, tenantID string) (*store.Session, error) {
	c, err := r.Cookie(m.CookieName)
	if err != nil || !wellFormed(c.Value) {
		return nil, ErrNoSession
	}
	var s *store.Session
	err = m.Store.View(ctx, func(tx store.Tx) error {
		var err error
		s, err = tx.GetSessionByTokenHash(ctx, secret.Hash(c.Value))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	now := m.Now()
	if s.TenantID != tenantID || !Live(s, now) {
		return nil, ErrNoSession
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		// The idle window is fixed when the session is made, so extending it needs no
		// policy read on the hot path.
		idle := now.Add(s.IdleExpiresAt.Sub(s.LastSeenAt))
		if idle.After(s.ExpiresAt) {
			idle = s.ExpiresAt
		}
		err := m.Store.InTx(ctx, func(tx store.Tx) error { return tx.TouchSession(ctx, s.ID, now, idle) })
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		s.LastSeenAt, s.IdleExpiresAt = store.Micro(now), store.Micro(idle)
	}
	return s, nil
}

// wellFormed rejects cookie values that no Token call could have produced, before
// they reach the database.
func wellFormed(v string) bool {
	if len(v) != 43 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Live reports whether s is neither revoked nor past either expiry at now.
func Live(s *store.Session, now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) && now.Before(s.IdleExpiresAt)
}

// PhishingResistant reports whether the session was obtained with a passkey.
func PhishingResistant(s *store.Session) bool {
	return s.ACR == ACRPhishingResistant && !s.Restricted && s.Flow != FlowProvisional &&
		(slices.Contains(s.AMR, AMRHardwareKey) || slices.Contains(s.AMR, AMRSoftwareKey))
}

// UsedPasskey reports whether the session was obtained or confirmed with a passkey,
// whatever assurance that gave it (a provisional passkey still is one).
func UsedPasskey(s *store.Session) bool {
	return slices.Contains(s.AMR, AMRHardwareKey) || slices.Contains(s.AMR, AMRSoftwareKey)
}

// Fresh reports whether the session authenticated within maxAge of now.
func Fresh(s *store.Session, now time.Time, maxAge time.Duration) bool {
	return now.Sub(s.AuthTime) <= maxAge
}

// Revoke ends one session inside tx and audits it.
func Revoke(ctx context.Context, tx store.Tx, now time.Time, tenantID, id, reason string, m audit.Meta) error {
	if err := tx.RevokeSession(ctx, tenantID, id, now, reason); err != nil {
		return err
	}
	return audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.SessionRevoked, TenantID: tenantID, TargetType: "session", TargetID: id,
		Details: map[string]string{"reason": reason},
	})
}

// RevokeAll ends every session of a user except exceptID inside tx and audits it.
// Applications the user authorized from those sessions lose their tokens too:
// someone signing out everywhere else expects whoever held those sessions to be out.
func RevokeAll(ctx context.Context, tx store.Tx, now time.Time, tenantID, userID, exceptID, reason string, m audit.Meta) (int, error) {
	n, err := tx.RevokeUserSessions(ctx, tenantID, userID, exceptID, now, reason)
	if err != nil {
		return 0, err
	}
	grants, err := tx.RevokeUserGrants(ctx, tenantID, userID, exceptID, now, reason)
	if err != nil {
		return 0, err
	}
	return n, audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.SessionsRevoked, TenantID: tenantID, TargetType: "user", TargetID: userID,
		Details: map[string]any{"reason": reason, "count": n, "kept": exceptID, "app_grants_revoked": grants},
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
