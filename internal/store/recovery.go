package store

import (
	"context"
	"time"
)

// RecoveryCode is one of a user's saved recovery codes, stored only as a hash.
type RecoveryCode struct {
	TenantID  string
	UserID    string
	Hash      string
	CreatedAt time.Time
	UsedAt    time.Time // zero while unused
}

// TAP is a temporary access pass a help-desk operator issued so a person who lost
// every way in can enroll a new passkey. Only its hash is kept.
type TAP struct {
	ID       string
	TenantID string
	UserID   string
	Hash     string
	// IssuedBy is the operator (a user id in the system tenant) who issued it, and
	// VerifiedBy says, in the operator's words, how the person's identity was checked.
	IssuedBy   string
	VerifiedBy string
	// NeedsApproval is set for privileged targets: the pass works only once a second,
	// different operator approved it.
	NeedsApproval bool
	ApprovedBy    string
	ApprovedAt    time.Time // zero until approved
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RedeemedAt    time.Time // zero until used
	RevokedAt     time.Time // zero unless revoked
}

// TAPQuery filters ListTAPs. Zero values mean "any".
type TAPQuery struct {
	UserID string
	// Live keeps only passes that are neither used, revoked nor expired at Now.
	Live bool
	Now  time.Time
	// Limit bounds the result (default and maximum 1000), newest first.
	Limit int
}

// RecoveryTx keeps saved recovery codes and temporary access passes.
type RecoveryTx interface {
	// ReplaceRecoveryCodes deletes every recovery code of the user, used or not, and
	// stores hashes as the new set, so an old printout stops working at once.
	ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes []string, at time.Time) error
	// UseRecoveryCode atomically marks the user's unused code with that hash used at
	// at. It returns ErrNotFound for an unknown or used code: of two concurrent
	// callers at most one succeeds.
	UseRecoveryCode(ctx context.Context, tenantID, userID, hash string, at time.Time) error
	// CountRecoveryCodes returns how many unused recovery codes the user has.
	CountRecoveryCodes(ctx context.Context, tenantID, userID string) (int, error)
	// CreateTAP stores a new pass; ErrConflict if its id or hash exists.
	CreateTAP(ctx context.Context, p *TAP) error
	// GetTAP returns the pass, in any state.
	GetTAP(ctx context.Context, tenantID, id string) (*TAP, error)
	// GetTAPByHash returns the tenant's pass with that hash, in any state.
	GetTAPByHash(ctx context.Context, tenantID, hash string) (*TAP, error)
	// ListTAPs returns the tenant's passes matching q, newest first.
	ListTAPs(ctx context.Context, tenantID string, q TAPQuery) ([]TAP, error)
	// ApproveTAP records approver's approval of a live pass that awaits one and that
	// approver did not issue. Any other case returns ErrNotFound, and of two
	// concurrent approvals at most one succeeds.
	ApproveTAP(ctx context.Context, tenantID, id, approver string, now time.Time) error
	// RedeemTAP atomically marks the tenant's live pass with that hash used at now and
	// returns it; a pass awaiting approval is not live. Any other case returns
	// ErrNotFound, and of two concurrent callers at most one succeeds.
	RedeemTAP(ctx context.Context, tenantID, hash string, now time.Time) (*TAP, error)
	// RevokeTAP revokes a pass that is neither used nor revoked; ErrNotFound otherwise.
	RevokeTAP(ctx context.Context, tenantID, id string, at time.Time) error
}
