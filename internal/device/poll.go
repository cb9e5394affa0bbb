package device

import (
	"sync"
	"time"
)

// maxTracked bounds the polling state one node keeps. A device code lives ten
// minutes by default, so this is far above any honest load; beyond it the oldest
// state is dropped, which at worst forgets one slow_down.
const maxTracked = 100_000

// pollTracker remembers, per device code, when a device last polled this node and
// the interval it must keep, so a device polling too fast gets slow_down (RFC 8628
// §3.5) without a database write on every poll. The state is per node: a device that
// spreads its polls over several nodes is held to the interval on each of them, not
// across them. That is enough for the purpose, which is to keep a buggy or greedy
// device from hammering the server; the code itself is protected by its entropy.
type pollTracker struct {
	mu      sync.Mutex
	entries map[string]*pollState
}

type pollState struct {
	last     time.Time
	interval time.Duration
	expires  time.Time
}

// tooFast records a poll of the code with hash at now and reports whether it came
// sooner than the code's interval after the previous one; each time it does, the
// interval grows by SlowDownStep for this and every later poll.
func (p *pollTracker) tooFast(hash string, now time.Time, interval time.Duration, expires time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.entries == nil {
		p.entries = make(map[string]*pollState)
	}
	st, ok := p.entries[hash]
	if !ok {
		p.makeRoom(now)
		p.entries[hash] = &pollState{last: now, interval: interval, expires: expires}
		return false
	}
	// A tenth of slack absorbs the network and scheduling jitter of a device that
	// sleeps exactly its interval between polls.
	fast := now.Sub(st.last) < st.interval-st.interval/10
	if fast {
		st.interval += SlowDownStep
	}
	st.last = now
	return fast
}

// forget drops the state of a code that can no longer be polled pending.
func (p *pollTracker) forget(hash string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.entries, hash)
}

// interval returns the interval the code is held to on this node (for tests and the
// benchmark's sanity checks); zero when the node has not seen it.
func (p *pollTracker) interval(hash string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.entries[hash]; ok {
		return st.interval
	}
	return 0
}

// makeRoom drops expired entries when the map is full, and one arbitrary entry if
// that freed nothing. Called with mu held.
func (p *pollTracker) makeRoom(now time.Time) {
	if len(p.entries) < maxTracked {
		return
	}
	for h, st := range p.entries {
		if !now.Before(st.expires) {
			delete(p.entries, h)
		}
	}
	if len(p.entries) < maxTracked {
		return
	}
	for h := range p.entries {
		delete(p.entries, h)
		return
	}
}
