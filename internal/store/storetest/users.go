package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func userIDs(us []store.User) []string { return ids(us, func(u store.User) string { return u.ID }) }

func testUsers(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")

	seed := []struct {
		id     string
		status string
		roles  []string
	}{
		{"u1", store.UserActive, []string{"admin"}},
		{"u2", store.UserActive, []string{"sysadmin"}},
		{"u3", store.UserLocked, []string{"auditor", "admin"}},
		{"u4", store.UserDisabled, nil},
		{"u5", store.UserActive, []string{"admin-lite", "helpdesk"}},
	}
	for _, u := range seed {
		mustTx(t, s, func(tx store.Tx) error {
			return tx.CreateUser(ctx, &store.User{ID: u.id, TenantID: "acme", DisplayName: "User " + u.id,
				Status: u.status, Roles: u.roles, CreatedAt: t0, UpdatedAt: t0})
		})
	}
	// A user of another tenant who matches every filter must never appear in acme's lists.
	mustCreateUser(t, s, "globex", "g1", "admin")

	t.Run("get round-trips every field", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetUser(ctx, "acme", "u3")
			if err != nil {
				return err
			}
			want := store.User{ID: "u3", TenantID: "acme", DisplayName: "User u3", Status: store.UserLocked,
				Roles: []string{"auditor", "admin"}, CreatedAt: store.Micro(t0), UpdatedAt: store.Micro(t0)}
			wantEqual(t, "GetUser", *got, want)
			return nil
		})
	})

	t.Run("get is scoped to the tenant", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			_, err := tx.GetUser(ctx, "globex", "u1")
			wantErr(t, "GetUser(other tenant)", err, store.ErrNotFound)
			_, err = tx.GetUser(ctx, "acme", "nobody")
			wantErr(t, "GetUser(missing)", err, store.ErrNotFound)
			return nil
		})
	})

	t.Run("duplicate id conflicts", func(t *testing.T) {
		err := txErr(t, s, func(tx store.Tx) error {
			return tx.CreateUser(ctx, &store.User{ID: "u1", TenantID: "acme", Status: store.UserActive, CreatedAt: t0, UpdatedAt: t0})
		})
		wantErr(t, "CreateUser(duplicate)", err, store.ErrConflict)
	})

	t.Run("list filters", func(t *testing.T) {
		cases := []struct {
			name string
			q    store.UserQuery
			want []string
		}{
			{"everyone, ordered by id", store.UserQuery{}, []string{"u1", "u2", "u3", "u4", "u5"}},
			{"by status", store.UserQuery{Status: store.UserActive}, []string{"u1", "u2", "u5"}},
			{"by role matches whole roles only", store.UserQuery{Role: "admin"}, []string{"u1", "u3"}},
			{"by role and status", store.UserQuery{Role: "admin", Status: store.UserLocked}, []string{"u3"}},
			{"role second in the list", store.UserQuery{Role: "helpdesk"}, []string{"u5"}},
			{"role is case-sensitive", store.UserQuery{Role: "ADMIN"}, []string{}},
			{"role is not a pattern", store.UserQuery{Role: "adm_n"}, []string{}},
			{"role wildcard is literal", store.UserQuery{Role: "%"}, []string{}},
			{"unknown status", store.UserQuery{Status: "gone"}, []string{}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				mustView(t, s, func(tx store.Tx) error {
					got, err := tx.ListUsers(ctx, "acme", c.q)
					if err != nil {
						return err
					}
					wantEqual(t, "ListUsers", userIDs(got), c.want)
					return nil
				})
			})
		}
	})

	t.Run("list pages with After and Limit", func(t *testing.T) {
		var pages [][]string
		after := ""
		for range 10 {
			var page []store.User
			mustView(t, s, func(tx store.Tx) error {
				var err error
				page, err = tx.ListUsers(ctx, "acme", store.UserQuery{After: after, Limit: 2})
				return err
			})
			if len(page) == 0 {
				break
			}
			pages = append(pages, userIDs(page))
			after = page[len(page)-1].ID
		}
		wantEqual(t, "pages", pages, [][]string{{"u1", "u2"}, {"u3", "u4"}, {"u5"}})
	})

	t.Run("update status and roles", func(t *testing.T) {
		later := t0.Add(time.Hour)
		mustTx(t, s, func(tx store.Tx) error {
			u, err := tx.GetUser(ctx, "acme", "u2")
			if err != nil {
				return err
			}
			u.Status, u.Roles, u.DisplayName, u.UpdatedAt = store.UserLocked, []string{"admin", "operator"}, "Renamed", later
			u.NudgeSkips, u.HoldUntil = 2, later.Add(24*time.Hour)
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			return tx.SetUserStatus(ctx, "acme", "u2", store.UserLocked, later)
		})
		// UpdateUser never writes the status: a change made from an older read must
		// not undo a lock that landed meanwhile.
		mustTx(t, s, func(tx store.Tx) error {
			stale := store.User{ID: "u2", TenantID: "acme", DisplayName: "Renamed", Status: store.UserActive,
				Roles: []string{"admin", "operator"}, UpdatedAt: later, NudgeSkips: 2, HoldUntil: later.Add(24 * time.Hour)}
			return tx.UpdateUser(ctx, &stale)
		})
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.GetUser(ctx, "acme", "u2")
			if err != nil {
				return err
			}
			want := store.User{ID: "u2", TenantID: "acme", DisplayName: "Renamed", Status: store.UserLocked,
				Roles: []string{"admin", "operator"}, CreatedAt: store.Micro(t0), UpdatedAt: store.Micro(later),
				NudgeSkips: 2, HoldUntil: store.Micro(later.Add(24 * time.Hour))}
			wantEqual(t, "GetUser after update", *got, want)
			admins, err := tx.ListUsers(ctx, "acme", store.UserQuery{Role: "admin", Status: store.UserLocked})
			if err != nil {
				return err
			}
			wantEqual(t, "locked admins after update", userIDs(admins), []string{"u2", "u3"})
			return nil
		})
	})

	t.Run("update of a missing user is not found", func(t *testing.T) {
		err := txErr(t, s, func(tx store.Tx) error {
			return tx.SetUserStatus(ctx, "globex", "u1", store.UserDisabled, t0)
		})
		wantErr(t, "SetUserStatus(other tenant)", err, store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			u, err := tx.GetUser(ctx, "acme", "u1")
			if err == nil && u.Status != store.UserActive {
				t.Errorf("an update addressed to another tenant changed acme's user: status %q", u.Status)
			}
			return err
		})
	})
}

func testIdentifiers(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")
	mustCreateUser(t, s, "acme", "ann")
	mustCreateUser(t, s, "acme", "bob")
	mustCreateUser(t, s, "globex", "gus")

	add := func(id, tenant, user, kind, value string) error {
		return txErr(t, s, func(tx store.Tx) error {
			return tx.AddIdentifier(ctx, &store.Identifier{ID: id, TenantID: tenant, UserID: user, Kind: kind,
				Value: value, CreatedAt: t0})
		})
	}

	t.Run("uniqueness", func(t *testing.T) {
		cases := []struct {
			name                          string
			id, tenant, user, kind, value string
			want                          error
		}{
			{"first email", "i1", "acme", "ann", store.IdentEmail, "ann@example.com", nil},
			{"second email of the same user", "i2", "acme", "ann", store.IdentEmail, "ann@work.example", nil},
			{"a phone", "i3", "acme", "ann", store.IdentPhone, "+15550100", nil},
			{"same email, another user", "i4", "acme", "bob", store.IdentEmail, "ann@example.com", store.ErrConflict},
			{"same email, same user again", "i5", "acme", "ann", store.IdentEmail, "ann@example.com", store.ErrConflict},
			{"same phone, another user", "i6", "acme", "bob", store.IdentPhone, "+15550100", store.ErrConflict},
			{"same email in another tenant", "i7", "globex", "gus", store.IdentEmail, "ann@example.com", nil},
			{"same id", "i1", "acme", "bob", store.IdentEmail, "bob@example.com", store.ErrConflict},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantErr(t, "AddIdentifier", add(c.id, c.tenant, c.user, c.kind, c.value), c.want)
			})
		}
	})

	t.Run("find by identifier", func(t *testing.T) {
		cases := []struct {
			tenant, kind, value string
			want                string // user id; empty means ErrNotFound
		}{
			{"acme", store.IdentEmail, "ann@example.com", "ann"},
			{"acme", store.IdentPhone, "+15550100", "ann"},
			{"globex", store.IdentEmail, "ann@example.com", "gus"},
			{"acme", store.IdentPhone, "ann@example.com", ""},
			{"acme", store.IdentEmail, "nobody@example.com", ""},
			{"initech", store.IdentEmail, "ann@example.com", ""},
		}
		mustView(t, s, func(tx store.Tx) error {
			for _, c := range cases {
				u, err := tx.FindUserByIdentifier(ctx, c.tenant, c.kind, c.value)
				switch {
				case c.want == "":
					wantErr(t, "FindUserByIdentifier("+c.tenant+","+c.kind+","+c.value+")", err, store.ErrNotFound)
				case err != nil:
					t.Errorf("FindUserByIdentifier(%s,%s,%s): %v", c.tenant, c.kind, c.value, err)
				case u.ID != c.want || u.TenantID != c.tenant:
					t.Errorf("FindUserByIdentifier(%s,%s,%s) = %s/%s, want %s/%s", c.tenant, c.kind, c.value, u.TenantID, u.ID, c.tenant, c.want)
				}
			}
			return nil
		})
	})

	verifiedAt := t0.Add(5 * time.Minute)
	t.Run("update verified and primary", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			return tx.UpdateIdentifier(ctx, &store.Identifier{ID: "i1", TenantID: "acme", Verified: true, Primary: true, VerifiedAt: verifiedAt})
		})
		err := txErr(t, s, func(tx store.Tx) error {
			return tx.UpdateIdentifier(ctx, &store.Identifier{ID: "missing", TenantID: "acme", Verified: true})
		})
		wantErr(t, "UpdateIdentifier(missing)", err, store.ErrNotFound)
		err = txErr(t, s, func(tx store.Tx) error {
			return tx.UpdateIdentifier(ctx, &store.Identifier{ID: "i7", TenantID: "acme", Verified: true})
		})
		wantErr(t, "UpdateIdentifier(other tenant)", err, store.ErrNotFound)
	})

	t.Run("list is the user's own", func(t *testing.T) {
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.ListIdentifiers(ctx, "acme", "ann")
			if err != nil {
				return err
			}
			want := []store.Identifier{
				{ID: "i1", TenantID: "acme", UserID: "ann", Kind: store.IdentEmail, Value: "ann@example.com",
					Verified: true, Primary: true, CreatedAt: store.Micro(t0), VerifiedAt: store.Micro(verifiedAt)},
				{ID: "i2", TenantID: "acme", UserID: "ann", Kind: store.IdentEmail, Value: "ann@work.example", CreatedAt: store.Micro(t0)},
				{ID: "i3", TenantID: "acme", UserID: "ann", Kind: store.IdentPhone, Value: "+15550100", CreatedAt: store.Micro(t0)},
			}
			wantEqual(t, "ListIdentifiers(ann)", got, want)
			bobs, err := tx.ListIdentifiers(ctx, "acme", "bob")
			if err != nil {
				return err
			}
			if len(bobs) != 0 {
				t.Errorf("bob has identifiers %+v after every add for him conflicted", bobs)
			}
			return nil
		})
	})

	t.Run("delete frees the value", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error { return tx.DeleteIdentifier(ctx, "acme", "i1") })
		err := txErr(t, s, func(tx store.Tx) error { return tx.DeleteIdentifier(ctx, "acme", "i1") })
		wantErr(t, "DeleteIdentifier(again)", err, store.ErrNotFound)
		err = txErr(t, s, func(tx store.Tx) error { return tx.DeleteIdentifier(ctx, "acme", "i7") })
		wantErr(t, "DeleteIdentifier(other tenant)", err, store.ErrNotFound)
		mustView(t, s, func(tx store.Tx) error {
			_, err := tx.FindUserByIdentifier(ctx, "acme", store.IdentEmail, "ann@example.com")
			wantErr(t, "FindUserByIdentifier(deleted)", err, store.ErrNotFound)
			return nil
		})
		wantErr(t, "AddIdentifier(freed value, bob)", add("i8", "acme", "bob", store.IdentEmail, "ann@example.com"), nil)
		mustView(t, s, func(tx store.Tx) error {
			u, err := tx.FindUserByIdentifier(ctx, "acme", store.IdentEmail, "ann@example.com")
			if err == nil && u.ID != "bob" {
				t.Errorf("freed email belongs to %s, want bob", u.ID)
			}
			return err
		})
	})
}
