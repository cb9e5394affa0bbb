package user_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// mail is one queued outbox email.
type mail struct {
	To, Subject, Text string
}

func (f *fixture) outbox(t *testing.T) []mail {
	t.Helper()
	rows, err := f.db.SQL().Query(`SELECT payload FROM outbox ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []mail
	for rows.Next() {
		var payload string
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var m mail
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func recipients(ms []mail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.To)
	}
	slices.Sort(out)
	return out
}

func (f *fixture) emails(t *testing.T, u *store.User) map[string]store.Identifier {
	t.Helper()
	_, ids, err := f.svc.Get(context.Background(), u.TenantID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Identifier{}
	for _, id := range ids {
		if id.Kind == store.IdentEmail {
			out[id.Value] = id
		}
	}
	return out
}

var who = audit.Meta{ActorType: audit.ActorUser, IP: "192.0.2.7", UserAgent: "test-browser"}

func TestCheckEmail(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, "acme", user.NewUser{Email: "me@example.com", EmailVerified: true})
	f.mustCreate(t, "acme", user.NewUser{Email: "other@example.com", EmailVerified: true})
	half := f.mustCreate(t, "acme", user.NewUser{Email: "half@example.com"})
	cases := []struct {
		user, in, want string
		state          user.EmailState
		err            error
	}{
		{u.ID, " Me@Example.com ", "me@example.com", user.EmailVerified, nil},
		{u.ID, "new@example.com", "new@example.com", user.EmailNew, nil},
		{u.ID, "other@example.com", "other@example.com", user.EmailTaken, nil},
		{u.ID, "half@example.com", "half@example.com", user.EmailTaken, nil},
		{half.ID, "half@example.com", "half@example.com", user.EmailUnverified, nil},
		// The same address in another tenant is free here.
		{u.ID, "NEW2@example.com", "new2@example.com", user.EmailNew, nil},
		{u.ID, "not an address", "", 0, user.ErrInvalid},
	}
	for _, c := range cases {
		var addr string
		var state user.EmailState
		err := f.db.View(ctx, func(tx store.Tx) error {
			var err error
			addr, state, err = user.CheckEmail(ctx, tx, "acme", c.user, c.in)
			return err
		})
		if !errors.Is(err, c.err) || (c.err == nil && (addr != c.want || state != c.state)) {
			t.Errorf("CheckEmail(%q) = %q, %v, %v; want %q, %v, %v", c.in, addr, state, err, c.want, c.state, c.err)
		}
	}

	// A full account can still re-verify its own addresses, but not add new ones.
	for i := 1; i < user.MaxEmails; i++ {
		if _, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, fmt.Sprintf("a%d@example.com", i), who); err != nil {
			t.Fatal(err)
		}
	}
	err := f.db.View(ctx, func(tx store.Tx) error {
		_, _, err := user.CheckEmail(ctx, tx, "acme", u.ID, "one-more@example.com")
		return err
	})
	if !errors.Is(err, user.ErrTooManyEmails) {
		t.Fatalf("eleventh address: %v, want ErrTooManyEmails", err)
	}
	if _, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, "one-more@example.com", who); !errors.Is(err, user.ErrTooManyEmails) {
		t.Fatalf("ConfirmEmail on a full account: %v", err)
	}
}

func TestConfirmEmailAddsVerifiedAndTellsEveryAddress(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, "acme", user.NewUser{Email: "old@example.com", EmailVerified: true})
	id, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, "New@Example.com", who)
	if err != nil {
		t.Fatal(err)
	}
	got := f.emails(t, u)
	if n := got["new@example.com"]; !n.Verified || n.Primary || n.ID != id.ID || n.VerifiedAt.IsZero() {
		t.Fatalf("new address = %+v, want verified and not primary", n)
	}
	if o := got["old@example.com"]; !o.Primary {
		t.Fatalf("old primary lost its place: %+v", o)
	}
	evs := f.events(t, "acme", audit.EmailAdded)
	if len(evs) != 1 || evs[0].TargetID != u.ID || evs[0].IP != "192.0.2.7" || !strings.Contains(string(evs[0].Details), "new@example.com") {
		t.Fatalf("audit = %+v", evs)
	}
	out := f.outbox(t)
	if r := recipients(out); !slices.Equal(r, []string{"new@example.com", "old@example.com"}) {
		t.Fatalf("notices went to %v, want the old and the new address", r)
	}
	for _, m := range out {
		if !strings.Contains(m.Text, "new@example.com was added") || !strings.Contains(m.Text, "192.0.2.7") {
			t.Fatalf("notice says %q", m.Text)
		}
	}

	// Confirming again changes nothing and sends nothing.
	if _, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, "new@example.com", who); err != nil {
		t.Fatal(err)
	}
	if len(f.outbox(t)) != 2 || len(f.events(t, "acme", "email.")) != 1 {
		t.Fatal("a repeated confirmation wrote something")
	}
}

func TestConfirmEmailVerifiesAnUnverifiedPrimary(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	// The operator setup link creates accounts with a typed, unverified address.
	u := f.mustCreate(t, "acme", user.NewUser{Email: "typed@example.com"})
	if _, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, "typed@example.com", who); err != nil {
		t.Fatal(err)
	}
	if e := f.emails(t, u)["typed@example.com"]; !e.Verified || !e.Primary {
		t.Fatalf("after confirming: %+v", e)
	}
	if len(f.events(t, "acme", audit.EmailVerified)) != 1 || len(f.events(t, "acme", audit.EmailAdded)) != 0 {
		t.Fatal("want one email.verified event and no email.added")
	}
	if r := recipients(f.outbox(t)); !slices.Equal(r, []string{"typed@example.com"}) {
		t.Fatalf("notices to %v", r)
	}

	// A verified address takes primary from an unverified one.
	v := f.mustCreate(t, "acme", user.NewUser{Email: "unproved@example.com"})
	if _, err := f.svc.ConfirmEmail(ctx, "acme", v.ID, "proved@example.com", who); err != nil {
		t.Fatal(err)
	}
	got := f.emails(t, v)
	if !got["proved@example.com"].Primary || got["unproved@example.com"].Primary {
		t.Fatalf("primary after adding a verified address: %+v", got)
	}
}

func TestConfirmEmailRefusesAnotherAccountsAddress(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, "acme", user.NewUser{Email: "me@example.com", EmailVerified: true})
	f.mustCreate(t, "acme", user.NewUser{Email: "taken@example.com"})
	if _, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, "taken@example.com", who); !errors.Is(err, user.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
	if len(f.emails(t, u)) != 1 || len(f.outbox(t)) != 0 || len(f.events(t, "acme", "email.")) != 0 {
		t.Fatal("a refused confirmation left something behind")
	}
}

func TestMakePrimaryEmail(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, "acme", user.NewUser{Email: "first@example.com", EmailVerified: true})
	second, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, "second@example.com", who)
	if err != nil {
		t.Fatal(err)
	}
	stranger := f.mustCreate(t, "acme", user.NewUser{Email: "stranger@example.com", EmailVerified: true})
	strangerID := f.emails(t, stranger)["stranger@example.com"].ID
	if _, err := f.svc.MakePrimaryEmail(ctx, "acme", u.ID, strangerID, who); !errors.Is(err, user.ErrEmailNotFound) {
		t.Fatalf("another account's address: %v", err)
	}
	before := len(f.outbox(t))
	if _, err := f.svc.MakePrimaryEmail(ctx, "acme", u.ID, second.ID, who); err != nil {
		t.Fatal(err)
	}
	got := f.emails(t, u)
	if !got["second@example.com"].Primary || got["first@example.com"].Primary {
		t.Fatalf("primary not moved: %+v", got)
	}
	notices := f.outbox(t)[before:]
	if r := recipients(notices); !slices.Equal(r, []string{"first@example.com", "second@example.com"}) {
		t.Fatalf("primary change told %v, want the old and the new primary", r)
	}
	for _, n := range notices {
		if !strings.Contains(n.Text, "is now second@example.com. It was first@example.com.") {
			t.Fatalf("notice: %q", n.Text)
		}
	}
	evs := f.events(t, "acme", audit.EmailPrimaryChanged)
	if len(evs) != 1 || !strings.Contains(string(evs[0].Details), `"previous":"first@example.com"`) {
		t.Fatalf("audit: %+v", evs)
	}

	// Moving it back is a second change with a second notice.
	if _, err := f.svc.MakePrimaryEmail(ctx, "acme", u.ID, got["first@example.com"].ID, who); err != nil {
		t.Fatal(err)
	}
	if n := len(f.outbox(t)) - before; n != 4 {
		t.Fatalf("two primary changes queued %d notices, want 4", n)
	}

	// Only a verified address can be primary.
	v := f.mustCreate(t, "acme", user.NewUser{Email: "unverified@example.com"})
	if _, err := f.svc.MakePrimaryEmail(ctx, "acme", v.ID, f.emails(t, v)["unverified@example.com"].ID, who); !errors.Is(err, user.ErrEmailUnverified) {
		t.Fatalf("unverified address made primary: %v", err)
	}
}

func TestRemoveEmail(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, "acme", user.NewUser{Email: "first@example.com", EmailVerified: true})
	firstID := f.emails(t, u)["first@example.com"].ID

	// With no passkey, the only verified address is the only way in.
	if _, err := f.svc.RemoveEmail(ctx, "acme", u.ID, firstID, who); !errors.Is(err, user.ErrLastSignInMethod) {
		t.Fatalf("removing the last way in: %v", err)
	}
	if len(f.emails(t, u)) != 1 || len(f.outbox(t)) != 0 {
		t.Fatal("a refused removal changed something")
	}

	if _, err := f.svc.ConfirmEmail(ctx, "acme", u.ID, "second@example.com", who); err != nil {
		t.Fatal(err)
	}
	before := len(f.outbox(t))
	if _, err := f.svc.RemoveEmail(ctx, "acme", u.ID, firstID, who); err != nil {
		t.Fatal(err)
	}
	got := f.emails(t, u)
	if _, ok := got["first@example.com"]; ok || !got["second@example.com"].Primary {
		t.Fatalf("after removing the primary: %+v", got)
	}
	notices := f.outbox(t)[before:]
	if r := recipients(notices); !slices.Equal(r, []string{"first@example.com", "second@example.com"}) {
		t.Fatalf("removal told %v, want the removed and the remaining address", r)
	}
	if evs := f.events(t, "acme", audit.EmailRemoved); len(evs) != 1 || !strings.Contains(string(evs[0].Details), `"new_primary":"second@example.com"`) {
		t.Fatalf("audit: %+v", evs)
	}
	if _, err := f.svc.RemoveEmail(ctx, "acme", u.ID, firstID, who); !errors.Is(err, user.ErrEmailNotFound) {
		t.Fatalf("removing twice: %v", err)
	}

	// With a passkey, the last address may go: the passkey still signs in.
	err := f.db.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateCredential(ctx, &store.Credential{
			ID: secret.ID(), TenantID: "acme", UserID: u.ID, Kind: store.CredPasskey, CredentialID: "cred-1",
			PublicKey: "pk", Name: "Laptop", CreatedAt: f.now,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RemoveEmail(ctx, "acme", u.ID, got["second@example.com"].ID, who); err != nil {
		t.Fatalf("removing the last address of an account with a passkey: %v", err)
	}
	if len(f.emails(t, u)) != 0 {
		t.Fatal("address not removed")
	}
	if last := f.outbox(t); last[len(last)-1].To != "second@example.com" || !strings.Contains(last[len(last)-1].Text, "second@example.com was removed") {
		t.Fatalf("the removed address was not told: %+v", last[len(last)-1])
	}
}
