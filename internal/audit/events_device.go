package audit

// Event types of the device authorization grant (RFC 8628): a device asks, a person
// types its code and approves or denies, the device polls for its tokens. They live
// here, beside the other event types, so the account page can describe each one.
const (
	DeviceRequested         = "device.requested"
	DeviceCodeEntered       = "device.code_entered" // result success or failure
	DeviceEntryLocked       = "device.code_entry_locked"
	DeviceApproved          = "device.approved"
	DeviceDenied            = "device.denied"
	DeviceApprovalRefused   = "device.approval_refused"
	DeviceProximityMismatch = "device.proximity_mismatch"
	DeviceTokenIssued       = "device.token_issued"
	DeviceExpired           = "device.expired"
	DeviceGrantsRevoked     = "device.grants_revoked"
)
