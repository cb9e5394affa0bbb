package cli_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// userOut is the --json form of a user that scripts rely on.
type userOut struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	DisplayName string    `json:"display_name"`
	Status      string    `json:"status"`
	Roles       []string  `json:"roles"`
	CreatedAt   time.Time `json:"created_at"`
	Identifiers []struct {
		Kind     string `json:"kind"`
		Value    string `json:"value"`
		Verified bool   `json:"verified"`
		Primary  bool   `json:"primary"`
	} `json:"identifiers"`
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)

	u := mustJSON[userOut](g, "user", "create", "--tenant", "default", "--email", "A@Example.com", "--role", "admin", "--name", "Ada")
	if u.ID == "" || u.Tenant != "default" || u.Status != store.UserActive || u.DisplayName != "Ada" {
		t.Errorf("created %+v", u)
	}
	if !slices.Equal(u.Roles, []string{"admin"}) {
		t.Errorf("roles = %q, want [admin]", u.Roles)
	}
	if len(u.Identifiers) != 1 || u.Identifiers[0].Kind != "email" || u.Identifiers[0].Value != "a@example.com" ||
		u.Identifiers[0].Verified || !u.Identifiers[0].Primary {
		t.Errorf("identifiers = %+v, want one primary unverified email a@example.com", u.Identifiers)
	}

	line := g.mustFail("user", "create", "--email", "a@EXAMPLE.com")
	mustContain(t, "duplicate email", line, "already belongs to another user")

	p := mustJSON[userOut](g, "user", "create", "--phone", "+1 (555) 123-4567", "--role", "operator", "--role", "admin")
	if len(p.Identifiers) != 1 || p.Identifiers[0].Value != "+15551234567" {
		t.Errorf("phone identifiers = %+v, want +15551234567", p.Identifiers)
	}
	if !slices.Equal(p.Roles, []string{"admin", "operator"}) {
		t.Errorf("roles = %q, want [admin operator]", p.Roles)
	}
	plain := mustJSON[userOut](g, "user", "create", "--email", "plain@example.com")
	if plain.Roles == nil || len(plain.Roles) != 0 {
		t.Errorf("a user without roles has roles %#v, want []", plain.Roles)
	}

	// A failed create, even one that failed half-way on the duplicate email, leaves no user behind.
	if got := mustJSON[[]userOut](g, "user", "list"); len(got) != 3 {
		t.Errorf("user list has %d users, want 3", len(got))
	}
}

func TestUserCreateRejects(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad email", []string{"--email", "not-an-email"}, `"not-an-email" is not an email address`},
		{"email with name", []string{"--email", "Ada <ada@example.com>"}, "is not an email address"},
		{"bad role", []string{"--email", "r@example.com", "--role", "god"}, `unknown role "god"`},
		{"bad phone", []string{"--phone", "12345"}, "international form"},
		{"letters in phone", []string{"--phone", "+1555CALLME"}, "international form"},
		{"no identifier", []string{"--name", "Nobody"}, "give --email or --phone"},
		{"unknown tenant", []string{"--tenant", "nope", "--email", "n@example.com"}, "tenant nope not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := g.mustFail(append([]string{"user", "create"}, tc.args...)...)
			mustContain(t, "error", line, tc.want)
		})
	}
	if got := mustJSON[[]userOut](g, "user", "list"); len(got) != 0 {
		t.Errorf("rejected creates left %d users", len(got))
	}
}

func TestUserListShowAndStatus(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	admin := mustJSON[userOut](g, "user", "create", "--email", "admin@example.com", "--role", "admin")
	op := mustJSON[userOut](g, "user", "create", "--email", "op@example.com", "--role", "operator")
	bob := mustJSON[userOut](g, "user", "create", "--email", "bob@example.com")

	// Users of another tenant are invisible from this one.
	g.mustRun("tenant", "create", "acme")
	other := mustJSON[userOut](g, "user", "create", "--tenant", "acme", "--email", "bob@example.com", "--role", "admin")

	locked := mustJSON[userOut](g, "user", "lock", "bob@example.com", "--reason", "lost laptop")
	if locked.Status != store.UserLocked || locked.ID != bob.ID {
		t.Errorf("lock returned %+v, want bob locked", locked)
	}

	ids := func(us []userOut) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, sorted(admin.ID, op.ID, bob.ID)},
		{[]string{"--status", "locked"}, []string{bob.ID}},
		{[]string{"--status", "active"}, sorted(admin.ID, op.ID)},
		{[]string{"--status", "disabled"}, nil},
		{[]string{"--role", "admin"}, []string{admin.ID}},
		{[]string{"--role", "operator"}, []string{op.ID}},
		{[]string{"--tenant", "acme"}, []string{other.ID}},
		{[]string{"--limit", "1"}, []string{sorted(admin.ID, op.ID, bob.ID)[0]}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got := ids(mustJSON[[]userOut](g, append([]string{"user", "list"}, tc.args...)...))
			if !slices.Equal(got, tc.want) {
				t.Errorf("user list %s = %q, want %q", strings.Join(tc.args, " "), got, tc.want)
			}
		})
	}
	text := g.mustRun("user", "list", "--status", "locked")
	mustContain(t, "user list", text, bob.ID, "locked")
	if strings.Contains(text, admin.ID) {
		t.Errorf("user list --status locked shows an active user:\n%s", text)
	}

	for _, ref := range []string{"ADMIN@example.com", admin.ID} {
		got := mustJSON[userOut](g, "user", "show", ref)
		if got.ID != admin.ID || len(got.Identifiers) != 1 || got.Identifiers[0].Value != "admin@example.com" {
			t.Errorf("user show %s = %+v, want the admin with its email", ref, got)
		}
	}
	mustContain(t, "user show", g.mustRun("user", "show", "op@example.com"), op.ID, "op@example.com", "operator")
	mustContain(t, "unknown user", g.mustFail("user", "show", "ghost@example.com"), "not found")
	mustContain(t, "user of another tenant", g.mustFail("user", "show", other.ID), "not found")

	if got := mustJSON[userOut](g, "user", "unlock", bob.ID); got.Status != store.UserActive {
		t.Errorf("after unlock bob is %s", got.Status)
	}
	if got := mustJSON[userOut](g, "user", "disable", "bob@example.com"); got.Status != store.UserDisabled {
		t.Errorf("after disable bob is %s", got.Status)
	}
	if got := mustJSON[userOut](g, "user", "show", bob.ID); got.Status != store.UserDisabled {
		t.Errorf("user show after disable: status %s", got.Status)
	}
	// The acme user with the same email was not touched.
	if got := mustJSON[userOut](g, "user", "show", "--tenant", "acme", "bob@example.com"); got.Status != store.UserActive {
		t.Errorf("disabling bob in default changed acme's bob to %s", got.Status)
	}
	mustContain(t, "lock unknown user", g.mustFail("user", "lock", "ghost@example.com"), "not found")

	// Every change is in the audit log, attributed to the operator at the terminal.
	var changes []string
	for _, rec := range exportRecords(t, g.mustRun("audit", "export", "--type", "user.", "--tenant", "default")) {
		if rec.Tenant != "default" || !strings.HasPrefix(rec.Type, "user.") {
			t.Errorf("audit export --type user. --tenant default returned %s %s", rec.Tenant, rec.Type)
		}
		if rec.Actor != operatorName || rec.ActorType != "cli" {
			t.Errorf("%s was recorded as done by %s %q, want cli %q", rec.Type, rec.ActorType, rec.Actor, operatorName)
		}
		if rec.Target == bob.ID && rec.Type != "user.created" {
			changes = append(changes, rec.Type)
		}
	}
	if want := []string{"user.locked", "user.unlocked", "user.disabled"}; !slices.Equal(changes, want) {
		t.Errorf("audit log of bob's status = %q, want %q", changes, want)
	}
	g.mustRun("audit", "verify")
}

func TestUserListRejectsUnknownFilters(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	for _, tc := range []struct{ args, want []string }{
		{[]string{"--status", "lockd"}, []string{"--status", "lockd"}},
		{[]string{"--role", "admins"}, []string{"--role", "admins"}},
		{[]string{"--limit", "-1"}, []string{"--limit"}},
		{[]string{"--tenant", "nope"}, []string{"tenant nope not found"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			line := g.mustFail(append([]string{"user", "list"}, tc.args...)...)
			mustContain(t, "error", line, tc.want...)
		})
	}
}

// TestUserListPages checks that listing goes past the store's page size and that
// --limit is exact across pages.
func TestUserListPages(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	const total = 1003
	db := g.openDB()
	now := store.Micro(time.Now())
	err := db.InTx(context.Background(), func(tx store.Tx) error {
		for i := range total {
			u := &store.User{ID: fmt.Sprintf("u%05d", i), TenantID: "default", Status: store.UserActive, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateUser(context.Background(), u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create users: %v", err)
	}
	db.Close()

	for _, tc := range []struct {
		limit string
		want  int
	}{{"0", total}, {"1001", 1001}, {"1000", 1000}, {"7", 7}} {
		t.Run(tc.limit, func(t *testing.T) {
			got := mustJSON[[]userOut](g, "user", "list", "--limit", tc.limit)
			if len(got) != tc.want {
				t.Errorf("user list --limit %s returned %d users, want %d", tc.limit, len(got), tc.want)
			}
			seen := map[string]bool{}
			for _, u := range got {
				if seen[u.ID] {
					t.Fatalf("user %s listed twice", u.ID)
				}
				seen[u.ID] = true
			}
		})
	}
}
