// Package tenant manages tenants and their versioned policy documents.
package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Built-in tenants.
const (
	// System holds the operators who run Gatehouse.
	System = "system"
	// Default is the tenant a fresh install signs people in to.
	Default = "default"
)

// ErrInvalid wraps input errors whose message is safe to show.
var ErrInvalid = errors.New("invalid")

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidID reports whether id can name a tenant (it appears in URLs and issuers).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Service creates tenants and changes their policy.
type Service struct {
	Store store.Store
	Now   func() time.Time

	// known remembers tenants found by Resolve for a short while: every request under
	// /t/{tenant} looks its tenant up, and tenants are never deleted or renamed.
	known sync.Map // id → knownTenant
}

// knownTenant is a tenant Resolve found, and until when it may answer from memory.
type knownTenant struct {
	t     store.Tenant
	until time.Time
}

// resolveMemory bounds how long Resolve trusts a tenant it found; it only matters
// for fields an operator might one day change, since tenants are never deleted.
const resolveMemory = 10 * time.Second

// Create makes a tenant with the default policy, auditing both, in one transaction.
func (s *Service) Create(ctx context.Context, id, displayName string, m audit.Meta) (*store.Tenant, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: tenant id %q must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit", ErrInvalid, id)
	}
	if displayName == "" {
		displayName = id
	}
	if len(displayName) > 200 || !utf8.ValidString(displayName) {
		return nil, fmt.Errorf("%w: display name must be valid text of at most 200 characters", ErrInvalid)
	}
	now := s.Now()
	t := &store.Tenant{ID: id, DisplayName: displayName, CreatedAt: store.Micro(now)}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		return createTenant(ctx, tx, now, t, m)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func createTenant(ctx context.Context, tx store.Tx, now time.Time, t *store.Tenant, m audit.Meta) error {
	if err := tx.CreateTenant(ctx, t); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.TenantCreated, TenantID: t.ID, TargetType: "tenant", TargetID: t.ID,
		Details: map[string]string{"display_name": t.DisplayName},
	}); err != nil {
		return err
	}
	_, err := putPolicy(ctx, tx, now, t.ID, DefaultPolicy(), m, nil)
	return err
}

// EnsureBuiltins creates the system and default tenants if they are missing and
// reports which it created.
func (s *Service) EnsureBuiltins(ctx context.Context) ([]string, error) {
	var created []string
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		created = created[:0]
		for _, id := range []string{System, Default} {
			_, err := tx.GetTenant(ctx, id)
			if err == nil {
				continue
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			name := map[string]string{System: "Operators", Default: "Default"}[id]
			t := &store.Tenant{ID: id, DisplayName: name, CreatedAt: store.Micro(s.Now())}
			if err := createTenant(ctx, tx, s.Now(), t, audit.System()); err != nil {
				return err
			}
			created = append(created, id)
		}
		return nil
	})
	return created, err
}

// Get returns a tenant or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*store.Tenant, error) {
	var t *store.Tenant
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		t, err = tx.GetTenant(ctx, id)
		return err
	})
	return t, err
}

// lookup is Get for request routing: it answers from memory for a few seconds after
// a tenant was found. Unknown ids are never remembered, so a tenant created on
// another node is found at once. It returns a copy the caller may keep.
func (s *Service) lookup(ctx context.Context, id string) (*store.Tenant, error) {
	now := time.Now()
	if v, ok := s.known.Load(id); ok {
		if k := v.(knownTenant); now.Before(k.until) {
			t := k.t
			return &t, nil
		}
	}
	t, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s.known.Store(id, knownTenant{t: *t, until: now.Add(resolveMemory)})
	return t, nil
}

// List returns every tenant.
func (s *Service) List(ctx context.Context) ([]store.Tenant, error) {
	var out []store.Tenant
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListTenants(ctx)
		return err
	})
	return out, err
}

// Policy returns the tenant's current policy.
func (s *Service) Policy(ctx context.Context, tenantID string) (Policy, error) {
	var p Policy
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = CurrentPolicy(ctx, tx, tenantID)
		return err
	})
	return p, err
}

// CurrentPolicyOf reads the tenant's newest policy in its own read transaction.
func CurrentPolicyOf(ctx context.Context, s store.Store, tenantID string) (Policy, error) {
	var p Policy
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = CurrentPolicy(ctx, tx, tenantID)
		return err
	})
	return p, err
}

// CurrentPolicy reads the tenant's newest policy inside tx.
func CurrentPolicy(ctx context.Context, tx store.Tx, tenantID string) (Policy, error) {
	sp, err := tx.CurrentPolicy(ctx, tenantID)
	if err != nil {
		return Policy{}, err
	}
	p, err := parseStored(tenantID, sp.Document)
	if err != nil {
		// A stored policy that no longer parses is the server's problem, not the
		// caller's: %v keeps it from reading as ErrInvalid input.
		return Policy{}, fmt.Errorf("tenant %s policy v%d: %v", tenantID, sp.Version, err)
	}
	p.Version = sp.Version
	return p, nil
}

// SetPolicy validates p and stores it as the tenant's next policy version, auditing
// the change with the previous and new version numbers and ReviewPolicy's warnings.
func (s *Service) SetPolicy(ctx context.Context, tenantID string, p Policy, m audit.Meta) (Policy, error) {
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTenant(ctx, tenantID); err != nil {
			return fmt.Errorf("tenant %q: %w", tenantID, err)
		}
		prev, err := CurrentPolicy(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		v, err := putPolicy(ctx, tx, s.Now(), tenantID, p, m, ReviewPolicy(prev, p))
		p.Version = v
		return err
	})
	return p, err
}

// putPolicy stores p as the tenant's next version and audits it with the warnings
// ReviewPolicy found, raising the event's severity when there are any.
func putPolicy(ctx context.Context, tx store.Tx, now time.Time, tenantID string, p Policy, m audit.Meta, warnings []string) (int, error) {
	p.Version = 0
	doc, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	sp := &store.Policy{TenantID: tenantID, Document: doc, CreatedAt: store.Micro(now), CreatedBy: m.ActorType + ":" + m.ActorID}
	if err := tx.PutPolicy(ctx, sp); err != nil {
		return 0, err
	}
	details := map[string]any{"version": sp.Version, "previous_version": sp.Version - 1}
	severity := audit.Info
	if len(warnings) > 0 {
		details["warnings"], severity = warnings, audit.Medium
	}
	err = audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.PolicyChanged, TenantID: tenantID, TargetType: "policy", TargetID: tenantID,
		Severity: severity, Details: details,
	})
	return sp.Version, err
}
