package oauth

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// errStale means the client, policy or keys a token was made with changed before
// the transaction recording it committed; the request is decided again.
var errStale = errors.New("cached client or tenant state changed")

// maxBatch bounds the issuances one transaction records, and so the wait of the
// last request in it.
const maxBatch = 64

// stamp names what a token response was made with, for the recording transaction
// to check.
type stamp struct {
	client *store.Client
	state  *tenantState
}

// check reads the client, the current policy version and the key list again inside
// tx and reports errStale when any differs from the stamp.
func (s stamp) check(ctx context.Context, tx store.Tx) error {
	tenantID := s.state.tenantID
	c, err := tx.GetClient(ctx, tenantID, s.client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errStale
	}
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(c, s.client) {
		return errStale
	}
	pol, err := tx.CurrentPolicy(ctx, tenantID)
	if err != nil {
		return err
	}
	if pol.Version != s.state.policy.Version {
		return errStale
	}
	ks, err := tx.ListSigningKeys(ctx, tenantID)
	if err != nil {
		return err
	}
	if !keys.SameKeys(ks, s.state.keys) {
		return errStale
	}
	return nil
}

// committer records token issuances, batching those that arrive while a transaction
// is running into the next one ("group commit"): one transaction, one chain-head
// update per event but one commit (and on PostgreSQL one WAL flush) for the lot,
// and one check per distinct client and tenant state. No request is answered
// before the transaction holding its record committed. Its zero value is ready.
//
// There is no background goroutine: the first request to find the committer idle
// leads, commits what is queued, and hands the lead to the first request queued
// meanwhile, so nothing has to be started or stopped.
type committer struct {
	mu    sync.Mutex
	queue []*commitJob
	busy  bool
}

type commitJob struct {
	ctx   context.Context
	stamp stamp
	fn    func(store.Tx) error
	done  chan error    // the job's outcome; buffered
	lead  chan struct{} // told to lead the next batch; buffered
}

// commit runs fn in a write transaction after checking st, possibly together with
// other requests' records, and returns once that transaction committed or failed.
// fn may run more than once (as store.InTx may run it again), so it must set every
// result it reports from scratch; it must not open a transaction itself.
func (p *Provider) commit(ctx context.Context, st stamp, fn func(store.Tx) error) error {
	j := &commitJob{ctx: ctx, stamp: st, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	cm := &p.commits
	cm.mu.Lock()
	cm.queue = append(cm.queue, j)
	leader := !cm.busy
	cm.busy = true
	cm.mu.Unlock()
	if !leader {
		select {
		case err := <-j.done:
			return err
		case <-j.lead:
		}
	}
	cm.mu.Lock()
	n := min(len(cm.queue), maxBatch)
	batch := cm.queue[:n:n]
	cm.queue = cm.queue[n:]
	cm.mu.Unlock()

	p.runBatch(ctx, batch)

	cm.mu.Lock()
	if len(cm.queue) > 0 {
		cm.queue[0].lead <- struct{}{}
	} else {
		cm.busy = false
		cm.queue = nil
	}
	cm.mu.Unlock()
	return <-j.done
}

// runBatch records a batch in one transaction. If the transaction fails, every job
// runs again in its own, so that one request's failure is not the others'.
func (p *Provider) runBatch(ctx context.Context, batch []*commitJob) {
	// Every job must get an answer, or its request waits for ever: a record that
	// panics fails the batch's unanswered requests instead of stranding them.
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("recording a token issuance panicked: %v", r)
			for _, j := range batch {
				select {
				case j.done <- err:
				default:
				}
			}
		}
	}()
	if len(batch) == 1 {
		batch[0].done <- p.runAlone(batch[0])
		return
	}
	results := make([]error, len(batch))
	// The batch outlives the leader's request if that is cancelled: it carries the
	// others' records too. Each record still runs under its own request's context.
	wrote := false // every record ran: a failure past this point is the commit's
	err := p.Store.InTx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		wrote = false
		checked := map[stamp]error{}
		for i, j := range batch {
			results[i] = nil
			e, ok := checked[j.stamp]
			if !ok {
				e = j.stamp.check(j.ctx, tx)
				checked[j.stamp] = e
			}
			if errors.Is(e, errStale) {
				results[i] = errStale
				continue
			}
			if e != nil {
				return e
			}
			if err := runRecord(j, tx); err != nil {
				return err
			}
		}
		wrote = true
		return nil
	})
	if err != nil && wrote {
		// The commit itself failed, and may have taken effect all the same (a
		// connection lost while committing): running the records again could spend
		// a refresh token twice, which reads as its reuse and revokes the family.
		// Each request fails as it would alone.
		for _, j := range batch {
			j.done <- err
		}
		return
	}
	if err != nil {
		for _, j := range batch {
			j.done <- p.runAlone(j)
		}
		return
	}
	for i, j := range batch {
		j.done <- results[i]
	}
}

func (p *Provider) runAlone(j *commitJob) error {
	stale := false
	err := p.Store.InTx(j.ctx, func(tx store.Tx) error {
		stale = false
		if err := j.stamp.check(j.ctx, tx); errors.Is(err, errStale) {
			stale = true
			return nil
		} else if err != nil {
			return err
		}
		return runRecord(j, tx)
	})
	if err == nil && stale {
		return errStale
	}
	return err
}

// runRecord runs a job's writes, turning a panic into its error: the batch then fails
// and each record runs again alone, so the panic fails only the request it is in.
func runRecord(j *commitJob, tx store.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recording a token issuance panicked: %v", r)
		}
	}()
	return j.fn(tx)
}

// mintFunc makes a token response with the client and tenant state it is given and
// returns the writes that record it (run by commit), or the refusal to send.
type mintFunc func(c *store.Client, st *tenantState) (record func(store.Tx) error, err error)

// issue mints and records one token response of grant for the authenticated client
// of v. When the client or tenant state came from the cache and either the mint
// refused or the recording transaction found them changed, the client is
// authenticated again and the request decided again on fresh data. what names the
// recording step in the server error a failed transaction becomes.
func (s *server) issue(ctx context.Context, tenantID string, v *clientView, grant, what string, mint mintFunc) error {
	p, c := s.p, v.c
	fresh := v.auth == nil || !v.auth.cached
	for attempt := 0; ; attempt++ {
		st, stCached, err := p.tenantState(ctx, tenantID, attempt > 0)
		if err != nil {
			return err
		}
		retry := !fresh || stCached
		// The engine checked the grant against the record VerifyClient found, which
		// may be the cached one this loop has since replaced: check the record that
		// the token is made, and stamped, with.
		var record func(store.Tx) error
		if !client.AllowsGrant(c, grant) {
			err = grantNotAllowed(grant)
		} else {
			record, err = mint(c, st)
		}
		if err == nil {
			err = p.commit(ctx, stamp{client: c, state: st}, record)
			if err != nil && !errors.Is(err, errStale) {
				return serverError(what, err)
			}
		}
		if err == nil || !retry && !errors.Is(err, errStale) {
			return err
		}
		if attempt == 2 {
			return serverError(what, err)
		}
		p.cache.forget(tenantID, c.ID)
		if c, err = p.reauthenticate(ctx, tenantID, v); err != nil {
			return err
		}
		v.c, fresh = c, true
	}
}

// grantNotAllowed is the engine's answer to a client using a grant it lacks.
func grantNotAllowed(grant string) error {
	return oidc.ErrUnauthorizedClient().WithDescription("grant_type %q not allowed", grant)
}

// confirmClient authenticates the client of v again on fresh data, when VerifyClient
// used the cached record, before a refusal that writes is acted on (a reused code or
// refresh token revokes a grant): a secret rotated or a grant withdrawn since must
// not let the old credentials revoke anything.
func (s *server) confirmClient(ctx context.Context, tenantID string, v *clientView, grant string) error {
	if v.auth == nil || !v.auth.cached {
		return nil
	}
	c, err := s.p.reauthenticate(ctx, tenantID, v)
	if err != nil {
		return err
	}
	if !client.AllowsGrant(c, grant) {
		return grantNotAllowed(grant)
	}
	v.c, v.auth.cached = c, false
	return nil
}
