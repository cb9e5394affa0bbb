package sqlstore

import (
	"context"
	"time"
)

// Hit never moves a window backwards: a node whose clock lags counts into the newer
// window another node already opened instead of resetting it.
func (t *tx) Hit(ctx context.Context, key string, windowStart, expires time.Time) (int, error) {
	var n int
	err := t.queryRow(ctx, `INSERT INTO counters (key, window_start, count, expires_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN counters.window_start >= excluded.window_start THEN counters.count + 1 ELSE 1 END,
			window_start = CASE WHEN counters.window_start > excluded.window_start THEN counters.window_start ELSE excluded.window_start END,
			expires_at = CASE WHEN counters.expires_at > excluded.expires_at THEN counters.expires_at ELSE excluded.expires_at END
		RETURNING count`, key, micros(windowStart), micros(expires)).Scan(&n)
	return n, t.db.classify(err)
}

func (t *tx) CounterValue(ctx context.Context, key string, windowStart time.Time) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT count FROM counters WHERE key = ? AND window_start = ?`, key, micros(windowStart)).Scan(&n)
	if err != nil {
		if t.db.classify(err) == errNotFound {
			return 0, nil
		}
		return 0, t.db.classify(err)
	}
	return n, nil
}

func (t *tx) ResetCounter(ctx context.Context, key string) error {
	_, err := t.exec(ctx, `DELETE FROM counters WHERE key = ?`, key)
	return err
}
