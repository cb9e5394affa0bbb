package store

import (
	"context"
	"time"
)

// Signing key states. A key's state is never stored: it follows from its times and the
// clock (see SigningKey.State), so every node reading the same row reaches the same
// answer without writing anything when a key becomes due.
const (
	KeyNext    = "next"    // published in the JWKS, not signing yet
	KeyActive  = "active"  // signs new tokens
	KeyRetired = "retired" // no longer signs, still published for tokens it signed
	KeyExpired = "expired" // dropped from the JWKS; may be deleted
)

// SigningKey is one of a tenant's token signing keys. The private key is stored only
// as the key-encryption key's sealed form; the public key is PKIX DER.
type SigningKey struct {
	TenantID string
	KID      string // globally unique, random
	Alg      string // ES256 or RS256
	// Seq numbers the keys of one tenant and algorithm 1, 2, …; it is unique so that
	// two nodes creating "the next key" at once collide instead of both succeeding.
	Seq           int64
	PublicKey     []byte // PKIX DER
	SealedPrivate []byte // keys.Sealer output over PKCS #8 DER, label "tenant/kid"
	CreatedAt     time.Time
	ActivatesAt   time.Time // signs from then on (published from CreatedAt)
	RetiresAt     time.Time // stops signing then; zero while it has no successor
	RetireUntil   time.Time // leaves the JWKS then; zero while it has no successor
}

// State returns the key's state at now.
func (k *SigningKey) State(now time.Time) string {
	switch {
	case now.Before(k.ActivatesAt):
		return KeyNext
	case k.RetiresAt.IsZero() || now.Before(k.RetiresAt):
		return KeyActive
	case now.Before(k.RetireUntil):
		return KeyRetired
	default:
		return KeyExpired
	}
}

// KeyTx reads and writes tenants' signing keys.
type KeyTx interface {
	// CreateSigningKey stores a new key; ErrConflict if its kid, or its tenant,
	// algorithm and sequence number, are taken.
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns every stored key of the tenant, expired ones included,
	// ordered by algorithm, then sequence number.
	ListSigningKeys(ctx context.Context, tenantID string) ([]SigningKey, error)
	// RetireSigningKey sets the times a key stops signing and leaves the JWKS. It only
	// succeeds once per key: ErrNotFound if the key is unknown or already has a
	// successor, so of two concurrent rotations at most one retires the key.
	RetireSigningKey(ctx context.Context, tenantID, kid string, retiresAt, retireUntil time.Time) error
	// DeleteExpiredSigningKeys removes the tenant's keys that left the JWKS at or
	// before cutoff and returns their kids.
	DeleteExpiredSigningKeys(ctx context.Context, tenantID string, cutoff time.Time) ([]string, error)
}

// Client types.
const (
	ClientConfidential = "confidential"
	ClientPublic       = "public"
)

// Client is an OAuth 2.0 / OpenID Connect client registered in a tenant.
type Client struct {
	ID         string // client_id
	TenantID   string
	Name       string
	Type       string // ClientConfidential or ClientPublic
	AuthMethod string // token_endpoint_auth_method
	// SecretHash is the hex SHA-256 of the client secret; empty when the client has
	// none (public clients, private_key_jwt).
	SecretHash string
	// JWKS is the client's public keys for private_key_jwt, as a JWK Set document.
	JWKS                   []byte
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	Scopes                 []string
	// FirstParty clients skip the consent screen.
	FirstParty bool
	// RequirePAR is require_pushed_authorization_requests (RFC 9126).
	RequirePAR bool
	// DPoPBound is dpop_bound_access_tokens (RFC 9449).
	DPoPBound bool
	// IDTokenAlg is id_token_signed_response_alg: ES256 or RS256.
	IDTokenAlg string
	// VerificationURIComplete allows the device flow's verification_uri_complete.
	VerificationURIComplete bool
	// DeviceProximity overrides the tenant's device proximity policy (off, warn,
	// require); empty follows the tenant.
	DeviceProximity string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	SecretRotatedAt time.Time // when the secret was last set or removed; zero if never
}

// ClientTx reads and writes OAuth clients.
type ClientTx interface {
	// CreateClient stores a new client; ErrConflict if the id is taken.
	CreateClient(ctx context.Context, c *Client) error
	GetClient(ctx context.Context, tenantID, id string) (*Client, error)
	// ListClients returns the tenant's clients, oldest first.
	ListClients(ctx context.Context, tenantID string) ([]Client, error)
	// UpdateClient replaces every field of the client but its id, tenant, type,
	// secret and creation time; ErrNotFound if it does not exist.
	UpdateClient(ctx context.Context, c *Client) error
	// SetClientSecret replaces the client's secret hash (empty: no secret) and records
	// when; ErrNotFound if the client does not exist.
	SetClientSecret(ctx context.Context, tenantID, id, hash string, at time.Time) error
	DeleteClient(ctx context.Context, tenantID, id string) error
}
