package audit

// Event types of account recovery: self-service recovery, saved recovery codes, the
// hold that follows, "This wasn't me", and help-desk temporary access passes (TAPs).
const (
	RecoveryStarted        = "recovery.started"
	RecoveryRefused        = "recovery.refused"
	RecoveryCompleted      = "recovery.completed"
	RecoveryRepudiated     = "recovery.repudiated"
	RecoveryHoldEnded      = "recovery.hold_ended"
	RecoveryCodesGenerated = "recovery.codes_generated"
	RecoveryCodeUsed       = "recovery.code_used"
	RecoveryCodeFailed     = "recovery.code_failed"
	TAPIssued              = "tap.issued"
	TAPApproved            = "tap.approved"
	TAPApprovalRefused     = "tap.approval_refused"
	TAPRevoked             = "tap.revoked"
	TAPUsed                = "tap.used"
	TAPFailed              = "tap.failed"
)
