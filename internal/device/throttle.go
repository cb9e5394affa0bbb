package device

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/network"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Who typed a user code, for the entry limits.
type Typist struct {
	TenantID  string
	SessionID string
	UserID    string
	IP        netip.Addr
}

// counter is one limit on wrong user-code entries.
type counter struct {
	name   string // session, account or network, for the audit event
	key    string
	limit  int
	window time.Duration
}

// counters are the three limits of RFC 8628 §5.1 as DESIGN.md sets them: wrong
// entries per browser session and per account within a code lifetime (policy
// throttles.device_code_entries, default 5), and a ceiling per address across all
// codes and accounts within an hour (throttles.ip_attempts_per_hour). The address is
// counted by its network (/24, /56), so an IPv6 guesser cannot rotate addresses.
func counters(t Typist, p tenant.Policy) []counter {
	life := p.Device.CodeLifetime.D()
	out := []counter{
		{name: "session", key: key("device:entries:session", t.TenantID, t.SessionID), limit: p.Throttles.DeviceCodeEntries, window: life},
		{name: "account", key: key("device:entries:user", t.TenantID, t.UserID), limit: p.Throttles.DeviceCodeEntries, window: life},
	}
	if t.IP.IsValid() {
		out = append(out, counter{name: "network", key: key("device:entries:ip", t.TenantID, network.Of(t.IP).String()),
			limit: p.Throttles.IPAttemptsPerHour, window: time.Hour})
	}
	return out
}

// key joins length-prefixed parts, so no two tuples share a key whatever they hold.
func key(kind string, parts ...string) string {
	k := kind
	for _, p := range parts {
		k += ":" + strconv.Itoa(len(p)) + ":" + p
	}
	return k
}

// Locked reports whether the typist has used up a limit on wrong entries, and how
// long until the window that holds it ends.
func (s *Service) Locked(ctx context.Context, t Typist, p tenant.Policy) (time.Duration, bool, error) {
	now := s.Now()
	var wait time.Duration
	err := s.Store.View(ctx, func(tx store.Tx) error {
		for _, c := range counters(t, p) {
			start := now.Truncate(c.window)
			n, err := tx.CounterValue(ctx, c.key, start)
			if err != nil {
				return err
			}
			if n >= c.limit {
				wait = max(wait, start.Add(c.window).Sub(now))
			}
		}
		return nil
	})
	return wait, wait > 0, err
}

// errOverLimit and errRightCode end Guess's transaction without committing it: the
// first because the typist was already locked out, the second because a right code
// is not counted against anyone.
var (
	errOverLimit = errors.New("device: entry limit reached")
	errRightCode = errors.New("device: code matched")
)

// Guess looks up the request of the user code typed (already Normalize-d to be
// well-formed) and counts it against every limit when it matches nothing. The count
// and the check are one transaction that holds the counters' rows, so a burst of
// concurrent guesses is counted one by one: of any number sent at once, no more are
// checked than the limits allow (a check before the lookup and a count after it let
// every guess of a burst through). It returns:
//   - the request (any state) when the code matched, not counted;
//   - ErrInvalid when it matched nothing, counted and audited, with locked true when
//     this entry used up a limit (the lock is audited too);
//   - nil and locked true when a limit was already used up: nothing was checked.
func (s *Service) Guess(ctx context.Context, t Typist, p tenant.Policy, m audit.Meta, typed string) (*store.DeviceRequest, bool, error) {
	code, ok := Normalize(typed)
	if !ok {
		return nil, false, ErrInvalid
	}
	hash := s.userHash(t.TenantID, code)
	now := s.Now()
	var (
		d      *store.DeviceRequest
		locked bool
	)
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		d, locked = nil, false
		var hit []string
		over := false
		for _, c := range counters(t, p) {
			start := now.Truncate(c.window)
			n, err := tx.Hit(ctx, c.key, start, start.Add(c.window))
			if err != nil {
				return err
			}
			over = over || n > c.limit
			if n == c.limit {
				hit = append(hit, c.name)
			}
			locked = locked || n >= c.limit
		}
		if over {
			return errOverLimit
		}
		found, err := tx.FindDeviceRequest(ctx, t.TenantID, hash)
		if err == nil {
			d = found
			return errRightCode
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.DeviceCodeEntered, TenantID: t.TenantID,
			TargetType: "user", TargetID: t.UserID, Result: audit.Failure, Severity: audit.Low}); err != nil {
			return err
		}
		if len(hit) == 0 {
			return nil
		}
		return audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.DeviceEntryLocked, TenantID: t.TenantID,
			TargetType: "user", TargetID: t.UserID, Result: audit.Denied, Severity: audit.High,
			Details: map[string]any{"limits": hit}})
	})
	switch {
	case errors.Is(err, errRightCode):
		return d, false, nil
	case errors.Is(err, errOverLimit):
		return nil, true, nil
	case err != nil:
		return nil, false, err
	}
	if locked {
		s.Metrics.decided("entry_locked")
	}
	return nil, locked, ErrInvalid
}

// EntryOK audits a user code that matched a request.
func (s *Service) EntryOK(ctx context.Context, d *store.DeviceRequest, userID string, m audit.Meta) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		return audit.Record(ctx, tx, s.Now(), m, audit.Entry{Type: audit.DeviceCodeEntered, TenantID: d.TenantID,
			TargetType: "user", TargetID: userID, Details: map[string]any{"client_id": d.ClientID, "status": d.Status}})
	})
}
