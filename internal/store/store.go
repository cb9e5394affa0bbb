// Package store defines Gatehouse's storage abstraction: one Store with explicit
// transactions, the records it keeps, and the sentinel errors callers compare with
// errors.Is. Backends live in sub-packages and must pass the storetest suite.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors returned by every backend.
var (
	// ErrNotFound means the record does not exist (or, for artifacts, is not redeemable).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a record with the same unique key already exists.
	ErrConflict = errors.New("store: already exists")
	// ErrSchemaBehind means the database schema is older than this binary expects.
	ErrSchemaBehind = errors.New("store: database schema is behind")
	// ErrUnavailable means the database could not be reached.
	ErrUnavailable = errors.New("store: database unavailable")
)

// Store is a handle on one database. It is safe for concurrent use by many goroutines,
// and several Stores (on several nodes) may share one PostgreSQL database.
type Store interface {
	// InTx runs fn in a read-write transaction, committing when fn returns nil and
	// rolling back otherwise. fn may be retried on serialization failures, so it must
	// not have side effects outside tx.
	InTx(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction (on a reader connection where the backend
	// has them). Writes inside fn fail.
	View(ctx context.Context, fn func(Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Dialect names the backend: "sqlite" or "postgres".
	Dialect() string
	// Close releases every connection.
	Close() error
}

// Tx is one transaction. Its methods are grouped by the record they touch.
type Tx interface {
	TenantTx
	UserTx
	SessionTx
	ArtifactTx
	AuditTx
	OutboxTx
	CounterTx
	CredentialTx
	KeyTx
	ClientTx
	TokenTx
	RecoveryTx
	HousekeepingTx
	DeviceTx
}

// TenantTx reads and writes tenants and their versioned policy documents.
type TenantTx interface {
	CreateTenant(ctx context.Context, t *Tenant) error
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenants returns every tenant, ordered by id.
	ListTenants(ctx context.Context) ([]Tenant, error)
	// PutPolicy stores doc as the next version of the tenant's policy and returns it.
	PutPolicy(ctx context.Context, p *Policy) error
	// CurrentPolicy returns the newest policy version of the tenant.
	CurrentPolicy(ctx context.Context, tenantID string) (*Policy, error)
	// ListPolicies returns every version of the tenant's policy, oldest first.
	ListPolicies(ctx context.Context, tenantID string) ([]Policy, error)
}

// UserTx reads and writes users and their identifiers.
type UserTx interface {
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, tenantID, id string) (*User, error)
	// FindUserByIdentifier finds the user owning a normalized email or phone.
	FindUserByIdentifier(ctx context.Context, tenantID, kind, value string) (*User, error)
	// ListUsers returns the tenant's users matching q, ordered by id.
	ListUsers(ctx context.Context, tenantID string, q UserQuery) ([]User, error)
	// UpdateUser writes the user's name, roles, nudge count and hold; never its
	// status, so a change made from an older read cannot undo a lock.
	UpdateUser(ctx context.Context, u *User) error
	// SetUserStatus changes only the status (active, locked, disabled).
	SetUserStatus(ctx context.Context, tenantID, id, status string, at time.Time) error
	AddIdentifier(ctx context.Context, id *Identifier) error
	UpdateIdentifier(ctx context.Context, id *Identifier) error
	DeleteIdentifier(ctx context.Context, tenantID, id string) error
	// ListIdentifiers returns a user's identifiers ordered by kind, then oldest first.
	ListIdentifiers(ctx context.Context, tenantID, userID string) ([]Identifier, error)
}

// SessionTx reads and writes browser sessions.
type SessionTx interface {
	CreateSession(ctx context.Context, s *Session) error
	// GetSessionByTokenHash returns the session whose cookie token hashes to hash,
	// revoked or not; callers decide validity.
	GetSessionByTokenHash(ctx context.Context, hash string) (*Session, error)
	GetSession(ctx context.Context, tenantID, id string) (*Session, error)
	// TouchSession records activity and moves the idle expiry forward.
	TouchSession(ctx context.Context, id string, seen, idleExpires time.Time) error
	// UpdateSessionAuth replaces the assurance fields (AuthTime, AMR, ACR, Flow,
	// Restricted) after a step-up; ErrNotFound if the session is revoked or unknown.
	UpdateSessionAuth(ctx context.Context, s *Session) error
	// RevokeSession revokes a live session; ErrNotFound if it is unknown or already
	// revoked, so the first revocation's time and reason stand.
	RevokeSession(ctx context.Context, tenantID, id string, at time.Time, reason string) error
	// RevokeUserSessions revokes every live session of a user except exceptID (may be
	// empty) and returns how many it revoked.
	RevokeUserSessions(ctx context.Context, tenantID, userID, exceptID string, at time.Time, reason string) (int, error)
	// RevokeCredentialSessions revokes every live session of the user whose
	// CredentialID is credentialID, except exceptID, and every live grant authorized
	// from one of them; it returns how many sessions and grants it revoked.
	RevokeCredentialSessions(ctx context.Context, tenantID, userID, credentialID, exceptID string, at time.Time, reason string) (sessions, grants int, err error)
	// ListUserSessions returns the user's sessions that are neither revoked nor expired
	// (absolutely or by idleness) at now, most recently seen first.
	ListUserSessions(ctx context.Context, tenantID, userID string, now time.Time) ([]Session, error)
}

// ArtifactTx stores single-use secrets (challenges, codes, tokens) by hash.
type ArtifactTx interface {
	// PutArtifact stores a new artifact; ErrConflict if the hash already exists.
	PutArtifact(ctx context.Context, a *Artifact) error
	// RedeemArtifact atomically marks the unredeemed, unexpired artifact of that kind
	// and hash as used at now and returns it. Any other case returns ErrNotFound, and
	// of two concurrent callers at most one succeeds.
	RedeemArtifact(ctx context.Context, kind, hash string, now time.Time) (*Artifact, error)
	// PeekArtifact returns the artifact without redeeming it (for attempt counting).
	PeekArtifact(ctx context.Context, kind, hash string) (*Artifact, error)
	// DeleteExpiredArtifacts removes artifacts that expired before cutoff.
	DeleteExpiredArtifacts(ctx context.Context, cutoff time.Time) (int, error)
}

// AuditTx appends to and reads the per-tenant hash-chained audit log.
type AuditTx interface {
	// AppendAudit assigns the event the next sequence number of its tenant, chains it to
	// the previous event's hash, computes its own hash and stores it.
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// QueryAudit returns the events matching q, ordered by tenant and sequence, or
	// newest first when q.Newest is set.
	QueryAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	AuditHead(ctx context.Context, tenantID string) (seq int64, hash string, err error)
}

// OutboxTx holds messages that leave the system after their transaction commits.
type OutboxTx interface {
	// Enqueue adds a message; a second message with the same idempotency key is
	// silently dropped (the first wins) so retried transactions do not send twice.
	// A message without a key never collides with another.
	Enqueue(ctx context.Context, m *OutboxMessage) error
	// LeaseOutbox claims up to n due messages for owner until leaseUntil. A message
	// leased by another owner whose lease has not run out is skipped.
	LeaseOutbox(ctx context.Context, owner string, n int, now, leaseUntil time.Time) ([]OutboxMessage, error)
	// CompleteOutbox marks a leased message delivered (only if owner still holds it).
	CompleteOutbox(ctx context.Context, id, owner string, at time.Time) error
	// RetryOutbox releases a leased message for another try at retryAt, recording the
	// error; dead marks it as given up.
	RetryOutbox(ctx context.Context, id, owner string, retryAt time.Time, lastErr string, dead bool) error
	// OutboxDepth counts messages not yet delivered and not dead.
	OutboxDepth(ctx context.Context) (int, error)
	GetOutbox(ctx context.Context, id string) (*OutboxMessage, error)
	// PutMail stores a message in the local development mailbox.
	PutMail(ctx context.Context, m *Mail) error
	// ListMail returns up to limit messages of the development mailbox, newest first.
	ListMail(ctx context.Context, limit int) ([]Mail, error)
}

// CounterTx keeps fixed-window counters shared by every node (throttles).
type CounterTx interface {
	// Hit adds one to key's counter for the window starting at windowStart (resetting
	// it when the stored window is older) and returns the new count.
	Hit(ctx context.Context, key string, windowStart time.Time, expires time.Time) (int, error)
	// CounterValue returns the count for key in the window starting at windowStart.
	CounterValue(ctx context.Context, key string, windowStart time.Time) (int, error)
	// ResetCounter forgets key.
	ResetCounter(ctx context.Context, key string) error
}

// CredentialTx reads and writes sign-in credentials.
type CredentialTx interface {
	// CreateCredential stores a new credential; ErrConflict if the tenant already has
	// one with the same CredentialID.
	CreateCredential(ctx context.Context, c *Credential) error
	// GetCredentialByCredID finds a credential by its WebAuthn id within a tenant.
	GetCredentialByCredID(ctx context.Context, tenantID, credentialID string) (*Credential, error)
	GetCredential(ctx context.Context, tenantID, id string) (*Credential, error)
	// ListCredentials returns a user's credentials, oldest first.
	ListCredentials(ctx context.Context, tenantID, userID string) ([]Credential, error)
	// UpdateCredentialUse records a successful use: counter, backup state, when, where.
	UpdateCredentialUse(ctx context.Context, c *Credential) error
	// UpdateCredential changes the user-visible name and the provisional flag.
	UpdateCredential(ctx context.Context, c *Credential) error
	DeleteCredential(ctx context.Context, tenantID, id string) error
}
