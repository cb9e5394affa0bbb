package tenant

import (
	"crypto/sha256"
	"maps"
	"slices"
	"sync"
)

// parsedPolicies memoizes Parse of stored policy documents. A stored version is never
// changed, so the memo is a pure cache of a function of immutable rows: it holds no
// configuration and cannot serve stale policy (a new version is a new document).
// It keeps one entry per tenant, so it stays as small as the tenant list.
var parsedPolicies sync.Map // tenant id -> memoEntry

type memoEntry struct {
	sum    [32]byte
	policy Policy
}

// parseStored parses a stored policy document, reusing the last parse of the same
// document for the tenant.
func parseStored(tenantID string, doc []byte) (Policy, error) {
	sum := sha256.Sum256(doc)
	if v, ok := parsedPolicies.Load(tenantID); ok {
		if e := v.(memoEntry); e.sum == sum {
			return e.policy.clone(), nil
		}
	}
	p, err := Parse(doc)
	if err != nil {
		return Policy{}, err
	}
	parsedPolicies.Store(tenantID, memoEntry{sum: sum, policy: p.clone()})
	return p, nil
}

// clone returns a copy that shares no slice or map with p, so a caller that changes
// its policy (to set a new version) cannot change the memo.
func (p Policy) clone() Policy {
	p.Passkeys.AAGUIDAllowList = slices.Clone(p.Passkeys.AAGUIDAllowList)
	p.Passkeys.Origins = slices.Clone(p.Passkeys.Origins)
	p.Device.ScopeCeiling = slices.Clone(p.Device.ScopeCeiling)
	p.Retirement = maps.Clone(p.Retirement)
	return p
}
