package oauth

import (
	"context"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// The token endpoint keeps, on each node, what it last read of a tenant (policy and
// signing keys) and of the clients that authenticated, so that a token request reads
// nothing before it signs. The cache decides nothing on its own:
//
//   - a token is answered only after the transaction that records it has read the
//     client, the policy version and the key list again and found them equal to
//     what the tokens were made with (cache_commit.go); otherwise the request is decided
//     again on fresh data. A deleted client, a rotated secret, a flow turned off or
//     a rotated key therefore stops issuance from the moment its change commits, on
//     every node; the grant type is checked again on the record the token is made
//     with (issue), since the engine checked it on the cached one;
//   - a refusal that writes (a reused code or refresh token revokes its grant) is
//     acted on only after the client authenticated on fresh data (confirmClient);
//   - a refusal made on cached data (wrong secret, grant or flow not allowed) is
//     decided again on fresh data before it is sent, so a change that allows more
//     takes effect at once too.
//
// cacheMaxAge only bounds how long an entry is reused before it is read again, to
// keep the memory close to the database; correctness does not rest on it.
const (
	cacheMaxAge = 30 * time.Second
	// cacheMaxClients bounds the clients remembered; past it the map starts over.
	// Only clients that authenticated get in, so unknown ids cannot fill it.
	cacheMaxClients = 4096
)

// tenantState is what issuing a token needs to know about the tenant. It is shared
// by the requests that use it and never changed once built.
type tenantState struct {
	tenantID string
	policy   tenant.Policy // Version is the stored version it was read from
	keys     []store.SigningKey
}

// issueCache is the per-node memory described above. Its zero value is ready.
type issueCache struct {
	mu      sync.Mutex
	tenants map[string]cachedTenant
	clients map[clientKey]cachedClient
}

type cachedTenant struct {
	st *tenantState
	at time.Time
}

type clientKey struct{ tenantID, clientID string }

type cachedClient struct {
	c  *store.Client
	at time.Time
}

func (ic *issueCache) tenant(tenantID string, now time.Time) *tenantState {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	e, ok := ic.tenants[tenantID]
	if !ok || now.Sub(e.at) > cacheMaxAge || now.Before(e.at) {
		return nil
	}
	return e.st
}

func (ic *issueCache) putTenant(st *tenantState, now time.Time) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.tenants == nil || len(ic.tenants) >= cacheMaxClients {
		ic.tenants = map[string]cachedTenant{}
	}
	ic.tenants[st.tenantID] = cachedTenant{st: st, at: now}
}

func (ic *issueCache) client(tenantID, clientID string, now time.Time) *store.Client {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	e, ok := ic.clients[clientKey{tenantID, clientID}]
	if !ok || now.Sub(e.at) > cacheMaxAge || now.Before(e.at) {
		return nil
	}
	return e.c
}

func (ic *issueCache) putClient(c *store.Client, now time.Time) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.clients == nil || len(ic.clients) >= cacheMaxClients {
		ic.clients = map[clientKey]cachedClient{}
	}
	ic.clients[clientKey{c.TenantID, c.ID}] = cachedClient{c: c, at: now}
}

// forget drops what is remembered of the tenant and the client, after the
// issuing transaction found either changed.
func (ic *issueCache) forget(tenantID, clientID string) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	delete(ic.tenants, tenantID)
	delete(ic.clients, clientKey{tenantID, clientID})
}

// tenantState returns the tenant's policy and signing keys, from the cache unless
// fresh is set or the cache has none.
func (p *Provider) tenantState(ctx context.Context, tenantID string, fresh bool) (*tenantState, bool, error) {
	now := p.Now()
	if !fresh {
		if st := p.cache.tenant(tenantID, now); st != nil {
			return st, true, nil
		}
	}
	pol, err := tenant.CurrentPolicyOf(ctx, p.Store, tenantID)
	if err != nil {
		return nil, false, serverError("load tenant policy", err)
	}
	ks, err := p.Keys.List(ctx, tenantID)
	if err != nil {
		return nil, false, serverError("load signing keys", err)
	}
	st := &tenantState{tenantID: tenantID, policy: pol, keys: ks}
	p.cache.putTenant(st, now)
	return st, false, nil
}

// flowAllowed reports whether the tenant's policy has the flow on. An "off" read
// from the cache is read again from the store before it is believed.
func (s *server) flowAllowed(ctx context.Context, tenantID string, on func(tenant.Policy) bool) (bool, error) {
	st, cached, err := s.p.tenantState(ctx, tenantID, false)
	if err != nil {
		return false, err
	}
	if !on(st.policy) && cached {
		if st, _, err = s.p.tenantState(ctx, tenantID, true); err != nil {
			return false, err
		}
	}
	return on(st.policy), nil
}
