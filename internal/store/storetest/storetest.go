// Package storetest is the conformance suite that every store.Store backend must pass.
// A backend's tests call Run with a Harness that opens fresh databases; the suite then
// checks the behaviour callers rely on, including what happens when two nodes race.
package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Harness opens the databases the suite runs against.
type Harness struct {
	// Open returns a Store on a fresh, migrated, empty database. The harness closes it
	// (and removes the database) when t ends.
	Open func(t *testing.T) store.Store
	// OpenPair returns two independent Stores, each with its own connection pool, on the
	// same fresh database, as two Gatehouse nodes would have.
	OpenPair func(t *testing.T) (store.Store, store.Store)
}

// Run runs the whole conformance suite against the backend h opens.
func Run(t *testing.T, h Harness) {
	t.Run("Basics", func(t *testing.T) { testBasics(t, h) })
	t.Run("Tenants", func(t *testing.T) { testTenants(t, h) })
	t.Run("Policies", func(t *testing.T) { testPolicies(t, h) })
	t.Run("Users", func(t *testing.T) { testUsers(t, h) })
	t.Run("Identifiers", func(t *testing.T) { testIdentifiers(t, h) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, h) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, h) })
	t.Run("Artifacts", func(t *testing.T) { testArtifacts(t, h) })
	t.Run("RedemptionRace", func(t *testing.T) { testRedemptionRace(t, h) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, h) })
	t.Run("AuditQuery", func(t *testing.T) { testAuditQuery(t, h) })
	t.Run("AuditConcurrent", func(t *testing.T) { testAuditConcurrent(t, h) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, h) })
	t.Run("OutboxConcurrentLease", func(t *testing.T) { testOutboxConcurrentLease(t, h) })
	t.Run("Mail", func(t *testing.T) { testMail(t, h) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, h) })
	t.Run("CountersConcurrent", func(t *testing.T) { testCountersConcurrent(t, h) })
	t.Run("OAuth", func(t *testing.T) { testOAuth(t, h) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, h) })
	t.Run("Transactions", func(t *testing.T) { testTransactions(t, h) })
	t.Run("Device", func(t *testing.T) { testDevice(t, h) })
	t.Run("Recovery", func(t *testing.T) { testRecovery(t, h) })
	t.Run("RecoveryRace", func(t *testing.T) { testRecoveryRace(t, h) })
	t.Run("Housekeeping", func(t *testing.T) { testHousekeeping(t, h) })
	t.Run("CredentialSessions", func(t *testing.T) { testCredentialSessions(t, h) })
}

// t0 carries nanoseconds on purpose: backends keep microseconds, and the suite checks
// that what comes back equals store.Micro of what went in.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

func testBasics(t *testing.T, h Harness) {
	s := h.Open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if d := s.Dialect(); d != "sqlite" && d != "postgres" {
		t.Errorf("Dialect() = %q, want sqlite or postgres", d)
	}
}

// mustTx runs fn in a read-write transaction and fails the test on error.
func mustTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(t.Context(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

// mustView runs fn in a read-only transaction and fails the test on error.
func mustView(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// txErr runs fn in its own read-write transaction and returns its error, so a test can
// check what one call returns without the failure poisoning a larger transaction.
func txErr(t *testing.T, s store.Store, fn func(tx store.Tx) error) error {
	t.Helper()
	return s.InTx(t.Context(), fn)
}

// wantErr fails the test unless err matches target (nil target: err must be nil).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case target != nil && !errors.Is(err, target):
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// wantEqual fails the test when got and want differ, printing both.
func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// mustCreateTenant creates a tenant with the given id.
func mustCreateTenant(t *testing.T, s store.Store, id string) {
	t.Helper()
	mustTx(t, s, func(tx store.Tx) error {
		return tx.CreateTenant(t.Context(), &store.Tenant{ID: id, DisplayName: "Tenant " + id, CreatedAt: t0})
	})
}

// mustCreateUser creates an active user in tenant with the given roles.
func mustCreateUser(t *testing.T, s store.Store, tenant, id string, roles ...string) *store.User {
	t.Helper()
	u := &store.User{ID: id, TenantID: tenant, DisplayName: "User " + id, Status: store.UserActive,
		Roles: roles, CreatedAt: t0, UpdatedAt: t0}
	mustTx(t, s, func(tx store.Tx) error { return tx.CreateUser(t.Context(), u) })
	return u
}

// ids returns the ID of each element, for compact comparisons of ordered results.
func ids[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

// seqName makes distinct, ordered names such as "m007".
func seqName(prefix string, i int) string { return fmt.Sprintf("%s%03d", prefix, i) }
