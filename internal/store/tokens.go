package store

import (
	"context"
	"time"
)

// Grant is a token family: what one authorization (a code exchange) allowed a client
// to do for a user. Every refresh token rotated from it and every access token minted
// from it belongs to it, so revoking the grant revokes them all on every node.
type Grant struct {
	ID        string
	TenantID  string
	ClientID  string
	UserID    string
	SessionID string // the browser session the user authorized from
	Scope     string // space-separated
	AuthTime  time.Time
	ACR       string
	AMR       []string
	// CodeHash is the hash of the authorization code the grant was issued from, so a
	// replayed code can find and revoke what it already produced.
	CodeHash string
	// DPoPJKT binds the family to a DPoP key thumbprint (RFC 9449); empty: unbound.
	DPoPJKT string
	// AuthFlow names how the user authorized the family when it was not an ordinary
	// sign-in ("device_code"), so such families can be told apart and revoked as a unit.
	AuthFlow     string
	CreatedAt    time.Time
	ExpiresAt    time.Time // the family's absolute end; refreshes never go beyond it
	RevokedAt    time.Time // zero while live
	RevokeReason string
}

// RefreshToken is one generation of a grant's refresh token, stored only as a hash.
type RefreshToken struct {
	Hash       string
	TenantID   string
	GrantID    string
	Generation int // 1 for the token issued with the code, +1 per rotation
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UsedAt     time.Time // set when rotated; a second use is a replay
}

// Consent is a user's remembered approval of a client's scopes.
type Consent struct {
	TenantID  string
	UserID    string
	ClientID  string
	Scope     string // space-separated
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TokenTx reads and writes token families, refresh tokens and consents.
type TokenTx interface {
	// CreateGrant stores a new token family; ErrConflict if its id is taken.
	CreateGrant(ctx context.Context, g *Grant) error
	// GetGrant returns the grant, revoked or not; callers decide validity.
	GetGrant(ctx context.Context, tenantID, id string) (*Grant, error)
	// GetGrantByCode returns the grant issued from the code with that hash.
	GetGrantByCode(ctx context.Context, tenantID, codeHash string) (*Grant, error)
	// RevokeGrant revokes a live grant; ErrNotFound if it is unknown or already
	// revoked, so the first revocation's time and reason stand.
	RevokeGrant(ctx context.Context, tenantID, id string, at time.Time, reason string) error
	// RevokeUserClientGrants revokes every live grant of a user to a client and
	// returns how many it revoked.
	RevokeUserClientGrants(ctx context.Context, tenantID, userID, clientID string, at time.Time, reason string) (int, error)
	// RevokeUserGrants revokes every live grant of a user except those authorized
	// from keepSessionID (empty: keep none) and returns how many it revoked.
	RevokeUserGrants(ctx context.Context, tenantID, userID, keepSessionID string, at time.Time, reason string) (int, error)
	// PutRefreshToken stores a refresh token; ErrConflict if the hash exists.
	PutRefreshToken(ctx context.Context, rt *RefreshToken) error
	// GetRefreshToken returns the refresh token with that hash, used or not.
	GetRefreshToken(ctx context.Context, tenantID, hash string) (*RefreshToken, error)
	// UseRefreshToken atomically marks an unused refresh token used at now. It returns
	// ErrNotFound if the token is unknown or already used: of two concurrent callers
	// at most one succeeds.
	UseRefreshToken(ctx context.Context, tenantID, hash string, now time.Time) error
	// PutConsent creates or replaces the user's consent for the client.
	PutConsent(ctx context.Context, c *Consent) error
	// GetConsent returns the user's consent for the client, or ErrNotFound.
	GetConsent(ctx context.Context, tenantID, userID, clientID string) (*Consent, error)
	// ListConsents returns the user's consents ordered by client id.
	ListConsents(ctx context.Context, tenantID, userID string) ([]Consent, error)
	// DeleteConsent forgets a consent; ErrNotFound if there was none.
	DeleteConsent(ctx context.Context, tenantID, userID, clientID string) error
}
