package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// purgeQueries select, for each purgeable kind, the keys of up to limit rows that
// ended before the cutoff (every ? is the cutoff, the last one the limit). Deleting by
// key from a bounded sub-select works the same on both backends and keeps each
// delete short, which matters on SQLite's single writer.
var purgeQueries = map[store.Purgeable]struct{ table, key, pick string }{
	store.PurgeArtifacts: {"artifacts", "hash", `SELECT hash FROM artifacts WHERE expires_at < ? LIMIT ?`},
	store.PurgeCounters:  {"counters", "key", `SELECT key FROM counters WHERE expires_at < ? LIMIT ?`},
	store.PurgeDeviceRequests: {"device_requests", "device_hash",
		`SELECT device_hash FROM device_requests WHERE expires_at < ? LIMIT ?`},
	store.PurgeOutbox: {"outbox", "id", `SELECT id FROM outbox
		WHERE (delivered_at > 0 AND delivered_at < ?) OR (dead AND created_at < ?) LIMIT ?`},
	store.PurgeMail: {"dev_mailbox", "id", `SELECT id FROM dev_mailbox WHERE created_at < ? LIMIT ?`},
	store.PurgeSessions: {"sessions", "id", `SELECT id FROM sessions
		WHERE (revoked_at > 0 AND revoked_at < ?) OR expires_at < ? OR idle_expires_at < ? LIMIT ?`},
	store.PurgeGrants: {"oauth_grants", "id", `SELECT id FROM oauth_grants
		WHERE (revoked_at > 0 AND revoked_at < ?) OR expires_at < ? LIMIT ?`},
}

func (t *tx) PurgeEnded(ctx context.Context, what store.Purgeable, cutoff time.Time, limit int) (int, error) {
	q, ok := purgeQueries[what]
	if !ok {
		return 0, fmt.Errorf("purge %q: unknown kind", what)
	}
	if limit <= 0 {
		return 0, nil
	}
	rows, err := t.query(ctx, q.pick, purgeArgs(q.pick, micros(cutoff), limit)...)
	if err != nil {
		return 0, err
	}
	var keys []any
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return 0, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, t.db.classify(err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	in := placeholders(len(keys))
	if what == store.PurgeGrants {
		// Refresh tokens go first: they point at their grant.
		if _, err := t.exec(ctx, `DELETE FROM oauth_refresh_tokens WHERE grant_id IN (`+in+`)`, keys...); err != nil {
			return 0, err
		}
	}
	res, err := t.exec(ctx, `DELETE FROM `+q.table+` WHERE `+q.key+` IN (`+in+`)`, keys...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// purgeArgs repeats the cutoff for every placeholder of the query but the last,
// which is the limit.
func purgeArgs(q string, cutoff int64, limit int) []any {
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
		}
	}
	args := make([]any, 0, n)
	for range n - 1 {
		args = append(args, cutoff)
	}
	return append(args, limit)
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	b := make([]byte, 0, 3*n)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}
