package audit

// Event types of the self-service pages (sign-in by email code, email management,
// the "Sign in faster" prompt, operator setup).
const (
	EmailAdded          = "email.added"
	EmailVerified       = "email.verified"
	EmailPrimaryChanged = "email.primary_changed"
	EmailRemoved        = "email.removed"
	NudgeSkipped        = "nudge.skipped"
	OperatorSetupUsed   = "operator.setup_link_used"
)
