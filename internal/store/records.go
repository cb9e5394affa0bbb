package store

import "time"

// Tenant is a policy boundary with its own issuer, users and clients.
type Tenant struct {
	ID          string // URL slug, e.g. "default"
	DisplayName string
	CreatedAt   time.Time
}

// Policy is one version of a tenant's policy document (JSON).
type Policy struct {
	TenantID  string
	Version   int // assigned by PutPolicy: previous version + 1
	Document  []byte
	CreatedAt time.Time
	CreatedBy string
}

// User statuses.
const (
	UserActive   = "active"
	UserLocked   = "locked"
	UserDisabled = "disabled"
)

// User is a person (or operator) in one tenant.
type User struct {
	ID          string
	TenantID    string
	DisplayName string
	Status      string
	Roles       []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// NudgeSkips counts how often the user dismissed the "Sign in faster" prompt.
	NudgeSkips int
	// HoldUntil is the end of a recovery hold (zero: none). Credentials enrolled
	// during a hold are provisional.
	HoldUntil time.Time
}

// Identifier kinds.
const (
	IdentEmail = "email"
	IdentPhone = "phone"
)

// Identifier is an email address or phone number of a user, verified or not.
type Identifier struct {
	ID         string
	TenantID   string
	UserID     string
	Kind       string
	Value      string // normalized
	Verified   bool
	Primary    bool
	CreatedAt  time.Time
	VerifiedAt time.Time // zero when unverified
}

// UserQuery filters ListUsers. Zero values mean "any".
type UserQuery struct {
	Status string
	Role   string
	After  string // page after this user id
	Limit  int
}

// Session is a server-side browser session.
type Session struct {
	ID            string // public handle, shown on the account page and in audit events
	TokenHash     string // hash of the cookie value; the value itself is never stored
	TenantID      string
	UserID        string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time // absolute
	AuthTime      time.Time
	AMR           []string
	ACR           string
	Flow          string
	IP            string
	Network       string
	UserAgent     string
	Restricted    bool
	// CredentialID is the credential (store id) that signed the session in or last
	// confirmed it; empty for sessions no credential of the account authenticated.
	CredentialID string
	RevokedAt    time.Time // zero while live
	RevokeReason string
}

// Artifact is a single-use secret stored only as a hash.
type Artifact struct {
	Hash       string
	Kind       string
	TenantID   string
	Subject    string // what it is for: a user id, a client id, …
	Data       []byte // opaque JSON owned by the caller
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RedeemedAt time.Time // zero until redeemed
}

// AuditEvent is one entry of a tenant's append-only, hash-chained audit log.
type AuditEvent struct {
	TenantID   string
	Seq        int64 // assigned by AppendAudit
	ID         string
	Type       string
	OccurredAt time.Time
	ActorType  string // user, operator, client, system
	ActorID    string
	TargetType string
	TargetID   string
	IP         string
	Network    string
	UserAgent  string
	SessionID  string
	Flow       string
	Result     string // success, failure, denied
	Severity   string // info, low, medium, high
	Details    []byte // JSON object
	PrevHash   string // assigned by AppendAudit
	Hash       string // assigned by AppendAudit
}

// AuditQuery filters QueryAudit. Zero values mean "any".
type AuditQuery struct {
	TenantID string    // empty: every tenant
	UserID   string    // matches actor or target
	Type     string    // exact, or prefix when it ends in "."
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	AfterSeq int64
	Limit    int
	Newest   bool // newest first
}

// OutboxMessage is a message waiting to leave the system.
type OutboxMessage struct {
	ID             string
	TenantID       string
	Kind           string // "email", …
	IdempotencyKey string
	Payload        []byte // JSON owned by the sender for Kind
	CreatedAt      time.Time
	AvailableAt    time.Time
	Attempts       int
	LeaseOwner     string
	LeaseUntil     time.Time
	DeliveredAt    time.Time
	LastError      string
	Dead           bool
}

// Mail is a message kept in the local development mailbox when no SMTP server is set.
type Mail struct {
	ID        string
	TenantID  string
	To        string
	Subject   string
	Body      string
	CreatedAt time.Time
}

// Credential kinds.
const (
	CredPasskey = "passkey"
)

// Credential is a sign-in credential of a user. For passkeys the WebAuthn fields are
// filled; CredentialID and PublicKey are base64url text.
type Credential struct {
	ID              string // internal handle, used in URLs and audit events
	TenantID        string
	UserID          string
	Kind            string
	CredentialID    string // WebAuthn credential id, base64url
	PublicKey       string // COSE public key, base64url
	SignCount       uint32
	AAGUID          string // hex
	Transports      []string
	BackupEligible  bool
	BackedUp        bool
	UserVerified    bool
	AttestationType string
	Name            string
	// Provisional marks a credential enrolled during a recovery hold.
	Provisional bool
	CreatedAt   time.Time
	CreatedIP   string
	LastUsedAt  time.Time
	LastUsedIP  string
}
