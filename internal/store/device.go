package store

import (
	"context"
	"time"
)

// States of a device authorization request (RFC 8628). A request starts pending, is
// approved or denied once by a person, and an approved one is redeemed once by the
// device; a pending or approved one that outlives its code becomes expired.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceRedeemed = "redeemed"
	DeviceExpired  = "expired"
)

// DeviceRequest is one device authorization: the device code and the user code are
// stored only as hashes, next to where and when the device asked, and, once a person
// decided, who decided and with which sign-in.
type DeviceRequest struct {
	// DeviceHash is the SHA-256 of the device code, the key the device polls with.
	DeviceHash string
	// UserHash is a keyed hash of the normalized user code, unique within the tenant.
	UserHash string
	TenantID string
	ClientID string
	Scope    string // space-separated, already cut to the client and the tenant's ceiling
	// Where the device asked from.
	IP        string
	Network   string
	ASN       uint32 // 0 when unknown
	ASNOrg    string // the autonomous system's organisation, "" when unknown
	Location  string // approximate, "" when unknown
	Country   string // ISO 3166-1 alpha-2 code, "" when unknown
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
	Interval  time.Duration // the polling interval the device was told
	Status    string
	// Set when a person decides.
	UserID    string
	SessionID string
	AuthTime  time.Time
	ACR       string
	AMR       []string
	DecidedAt time.Time
	// Where the person decided from.
	DecidedIP      string
	DecidedNetwork string
	RedeemedAt     time.Time
}

// DeviceDecision is a person's answer to a pending device request.
type DeviceDecision struct {
	Status    string // DeviceApproved or DeviceDenied
	UserID    string
	SessionID string
	AuthTime  time.Time
	ACR       string
	AMR       []string
	At        time.Time
	IP        string
	Network   string
}

// DeviceTx reads and writes device authorization requests and revokes the token
// families they produced.
type DeviceTx interface {
	// CreateDeviceRequest stores a new request; ErrConflict if its device hash, or its
	// user hash within the tenant, is taken (the caller draws new codes).
	CreateDeviceRequest(ctx context.Context, d *DeviceRequest) error
	// GetDeviceRequest returns the request whose device code hashes to deviceHash, in
	// any state; callers decide what it means.
	GetDeviceRequest(ctx context.Context, tenantID, deviceHash string) (*DeviceRequest, error)
	// FindDeviceRequest returns the request whose user code hashes to userHash, in any
	// state.
	FindDeviceRequest(ctx context.Context, tenantID, userHash string) (*DeviceRequest, error)
	// DecideDeviceRequest records d on the request if it is still pending and not
	// expired at d.At; otherwise ErrNotFound, so of two decisions at most one stands.
	DecideDeviceRequest(ctx context.Context, tenantID, deviceHash string, d DeviceDecision) error
	// RedeemDeviceRequest atomically moves an approved, unexpired request to redeemed
	// at now and returns it. Any other case returns ErrNotFound, and of two concurrent
	// callers at most one succeeds.
	RedeemDeviceRequest(ctx context.Context, tenantID, deviceHash string, now time.Time) (*DeviceRequest, error)
	// ExpireDeviceRequest moves a pending or approved request whose code expired at or
	// before now to expired; ErrNotFound if there was no such request, so the caller
	// that wins records the expiry once.
	ExpireDeviceRequest(ctx context.Context, tenantID, deviceHash string, now time.Time) error
	// RevokeFlowGrants revokes every live grant of the user obtained through flow
	// (Grant.AuthFlow) and returns how many it revoked. For the device_code flow it
	// also turns the user's approved requests not yet redeemed into denied ones, and
	// counts them: they are grants the device has yet to collect.
	RevokeFlowGrants(ctx context.Context, tenantID, userID, flow string, at time.Time, reason string) (int, error)
}
