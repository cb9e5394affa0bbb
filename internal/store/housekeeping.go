package store

import (
	"context"
	"time"
)

// Purgeable names a kind of record that ends and can be deleted some time after.
type Purgeable string

// What PurgeEnded deletes for each kind, given a cutoff.
const (
	// PurgeArtifacts deletes one-time artifacts that expired before the cutoff,
	// redeemed or not. An expired artifact can no longer be redeemed, so nothing
	// depends on it.
	PurgeArtifacts Purgeable = "artifacts"
	// PurgeCounters deletes throttle counters whose window expired before the cutoff.
	PurgeCounters Purgeable = "counters"
	// PurgeOutbox deletes messages delivered before the cutoff, and dead messages
	// created before it.
	PurgeOutbox Purgeable = "outbox"
	// PurgeMail deletes development-mailbox messages created before the cutoff.
	PurgeMail Purgeable = "dev_mailbox"
	// PurgeSessions deletes sessions that ended (revoked, or past either expiry)
	// before the cutoff.
	PurgeSessions Purgeable = "sessions"
	// PurgeGrants deletes token families that ended (revoked, or past their absolute
	// expiry) before the cutoff, with their refresh tokens.
	PurgeGrants Purgeable = "oauth_grants"
	// PurgeDeviceRequests deletes device authorization requests whose codes expired
	// before the cutoff, whatever became of them.
	PurgeDeviceRequests Purgeable = "device_requests"
)

// Purgeables lists every kind PurgeEnded accepts, in the order housekeeping runs them.
var Purgeables = []Purgeable{PurgeArtifacts, PurgeCounters, PurgeDeviceRequests, PurgeOutbox, PurgeMail, PurgeSessions, PurgeGrants}

// HousekeepingTx deletes records that have ended, so tables hold what is live plus
// a bounded tail of history. The audit log is never purged here.
type HousekeepingTx interface {
	// PurgeEnded deletes up to limit records of the kind that ended before cutoff and
	// returns how many it deleted; callers repeat until it returns less than limit,
	// keeping each write transaction short.
	PurgeEnded(ctx context.Context, what Purgeable, cutoff time.Time, limit int) (int, error)
}
