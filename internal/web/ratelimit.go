package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxTrackedKeys bounds how many clients a RateLimiter remembers.
// At well under a hundred bytes an entry, this caps it at a few megabytes
// however many addresses an attacker cycles through.
const DefaultMaxTrackedKeys = 100_000

// RateLimiter is an in-memory token bucket per key (usually a client
// address). Each key may make burst requests at once and then rate requests
// per second. It is safe for concurrent use.
//
// It limits one node only; limits that must hold across nodes (wrong codes
// per account, per device code) belong in the store.
type RateLimiter struct {
	rate    float64
	burst   float64
	clock   func() time.Time
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter returns a limiter allowing rate requests per second per key
// with bursts of up to burst. clock is the time source (nil means time.Now);
// tests pass a fake one. It panics if rate or burst is not positive, which is
// a configuration bug that must not silently disable limiting.
func NewRateLimiter(rate float64, burst int, clock func() time.Time) *RateLimiter {
	if !(rate > 0) || math.IsInf(rate, 0) || burst < 1 {
		panic(fmt.Sprintf("web: rate limiter needs a positive rate and burst, got %v and %d", rate, burst))
	}
	if clock == nil {
		clock = time.Now
	}
	return &RateLimiter{
		rate:    rate,
		burst:   float64(burst),
		clock:   clock,
		maxKeys: DefaultMaxTrackedKeys,
		buckets: map[string]*bucket{},
	}
}

// Allow takes one token from key's bucket. When none is left it reports
// false and how long until one will be.
func (l *RateLimiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := l.clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeSweep(now)
	b, found := l.buckets[key]
	if !found {
		if len(l.buckets) >= l.maxKeys {
			l.evictOne(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = l.tokensAt(b, now)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// tokensAt returns the bucket's tokens at now. A clock that steps backwards
// adds nothing rather than taking tokens away.
func (l *RateLimiter) tokensAt(b *bucket, now time.Time) float64 {
	elapsed := now.Sub(b.last).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	return math.Min(l.burst, b.tokens+elapsed*l.rate)
}

// refillTime is how long an empty bucket takes to fill. A bucket untouched
// that long is full, which is exactly how a new bucket starts, so dropping
// it changes nothing a client could notice.
func (l *RateLimiter) refillTime() time.Duration {
	return time.Duration(l.burst / l.rate * float64(time.Second))
}

// maybeSweep drops full buckets, at most once per refill time (and at least
// once a minute), so memory follows the number of recently active clients.
func (l *RateLimiter) maybeSweep(now time.Time) {
	every := min(l.refillTime(), time.Minute)
	if now.Sub(l.lastSweep) < every {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if l.tokensAt(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// evictOne makes room when every tracked client is still active. It looks at
// a few entries (map order is random) and drops the fullest, which is the
// client closest to idle. Denying newcomers instead would let a flood of
// addresses lock everyone else out.
func (l *RateLimiter) evictOne(now time.Time) {
	const sample = 8
	victim, most, seen := "", -1.0, 0
	for k, b := range l.buckets {
		if t := l.tokensAt(b, now); t > most {
			victim, most = k, t
		}
		if seen++; seen == sample {
			break
		}
	}
	delete(l.buckets, victim)
}

// Middleware limits requests per client address and refuses the excess with
// 429 Too Many Requests and Retry-After. OAuth and API clients (paths
// containing /oauth2/ or /api/, or Accept naming JSON) get
// {"error":"rate_limited",...}; people get the error page from rd.
func (l *RateLimiter) Middleware(rd *Renderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, wait := l.Allow(clientKey(r))
			if ok {
				next.ServeHTTP(w, r)
				return
			}
			secs := int(math.Ceil(wait.Seconds()))
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			msg := fmt.Sprintf("Too many requests. Please wait %d seconds and try again.", secs)
			if secs == 1 {
				msg = "Too many requests. Please wait a second and try again."
			}
			if wantsJSON(r) {
				JSONError(w, http.StatusTooManyRequests, "rate_limited", msg)
				return
			}
			rd.renderError(w, r, http.StatusTooManyRequests, msg)
		})
	}
}

// clientKey is the bucket key for a request. IPv6 clients are limited per
// /64, because one host usually holds a whole /64 and could otherwise use a
// fresh address for every request.
func clientKey(r *http.Request) string {
	ip := ClientIP(r.Context()).Unmap()
	if !ip.IsValid() {
		ip = peerAddr(r.RemoteAddr)
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	if !ip.IsValid() {
		// Every unidentifiable client shares one bucket rather than none.
		return "unknown"
	}
	return ip.String()
}

// wantsJSON reports whether the caller is a program that expects a JSON error
// rather than a page.
func wantsJSON(r *http.Request) bool {
	if strings.Contains(r.URL.Path, "/oauth2/") || strings.Contains(r.URL.Path, "/api/") {
		return true
	}
	return strings.Contains(r.Header.Get("Accept"), "json")
}
