package otp

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// window is one fixed counter window [start, end).
type window struct{ start, end time.Time }

// fixedWindow returns the window of length d that holds now. Windows are aligned to
// the zero time, so every node computes the same ones.
func fixedWindow(now time.Time, d time.Duration) window {
	start := now.Truncate(d)
	return window{start: start, end: start.Add(d)}
}

func (w window) throttled(now time.Time, reason string) *ThrottledError {
	d := w.end.Sub(now)
	// Round up: a client told "retry in 0s" would retry while still refused.
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return &ThrottledError{RetryAfter: max(d, time.Second), Reason: reason}
}

// genWindow is the fixed start of the generation counters, which never roll over.
var genWindow = time.Unix(0, 0).UTC()

// Counter keys. Every field is length-prefixed, so no two tuples share a key whatever
// characters a subject holds.
func sendKey(tenantID, purpose, subject string) string {
	return encode("otp:sends", tenantID, purpose, subject)
}

func ipSendKey(tenantID, ip string) string { return encode("otp:ip-sends", tenantID, network(ip)) }

func triesKey(tenantID, purpose, subject string) string {
	return encode("otp:wrong", tenantID, purpose, subject)
}

func ipWrongKey(tenantID, ip string) string { return encode("otp:ip-wrong", tenantID, network(ip)) }

// attemptsKey counts every verification of a subject; Verify hits it first so that
// concurrent verifications of one subject run one after another (see Verify).
func attemptsKey(tenantID, purpose, subject string) string {
	return encode("otp:attempts", tenantID, purpose, subject)
}

// genKey counts successful verifications of a subject and purpose.
func genKey(tenantID, purpose, subject string) string {
	return encode("otp:gen", tenantID, purpose, subject)
}

// encode joins label and fields as "label|len:field|len:field…".
func encode(label string, fields ...string) string {
	var b strings.Builder
	b.WriteString(label)
	for _, f := range fields {
		b.WriteByte('|')
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	return b.String()
}

// network is the unit the per-IP limits count: an IPv4 address, or the /64 that holds
// an IPv6 address. Text that is not an address is counted as it is.
func network(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
