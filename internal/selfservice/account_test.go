package selfservice_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/passkey/passkeytest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// staleness is longer than the default step-up age of five minutes.
const staleness = 6 * time.Minute

func TestAccountPageNeedsASession(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	apptest.ExpectRedirect(t, "account", p.Get(t, "account"), "/t/default/signin?next=%2Ft%2Fdefault%2Faccount")
	apptest.ExpectRedirect(t, "change", p.Post(t, "account/emails", "email", "a@example.com"), "/t/default/signin")
	apptest.ExpectRedirect(t, "nudge", p.Get(t, "nudge"), "/t/default/signin?next=%2Ft%2Fdefault%2Fnudge")
}

func TestAccountPasskeysRenameAddRemove(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	p := s.NewPerson("default")
	p.SignUp(t, "Pat")
	ids := p.CredentialIDs(t)
	first := ids[0]

	r := p.Get(t, "account")
	expect(t, "account", r, http.StatusOK, `id="passkey-`+first+`"`, "Synced passkey", "Passkey on Mac",
		`id="rename-`+first+`"`, `id="remove-passkey-`+first+`"`, `id="add-passkey"`, `data-has-passkey="true"`,
		`data-next="/t/default/account?done=passkey-added"`)

	// Renaming is not a security change: it works on a stale session too.
	clock.Advance(staleness)
	apptest.ExpectRedirect(t, "rename", p.Post(t, "account/passkeys/"+first+"/rename", "name", "Work laptop"), "/t/default/account?done=passkey-renamed")
	expect(t, "renamed", p.Get(t, "account?done=passkey-renamed"), http.StatusOK, "Work laptop", "The passkey was renamed.")
	expect(t, "bad name", p.Post(t, "account/passkeys/"+first+"/rename", "name", strings.Repeat("x", 65)),
		http.StatusBadRequest, "A passkey name must be at most 64 characters", `id="passkey-error-`+first+`"`)

	// Adding one on a stale session needs a step-up first, as the page's script does.
	// The second passkey lives on a security key in the same browser.
	key := &apptest.Person{S: s, Tenant: "default", Client: p.Client, Auth: passkeytest.New(passkeytest.Options{})}
	if r := key.AddPasskey(t, "Second"); r.Status != http.StatusForbidden || r.ErrorCode() != "step_up_required" {
		t.Fatalf("stale add: %d %s", r.Status, r.Body)
	}
	if r := p.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	if r := key.AddPasskey(t, "Second"); r.Status != 200 {
		t.Fatalf("add after step-up: %d %s", r.Status, r.Body)
	}
	expect(t, "added", p.Get(t, "account?done=passkey-added"), http.StatusOK, "Second", "This device only", "Your new passkey is ready.")
	second := p.CredentialIDs(t)[1]

	// Removing on a stale session shows the step-up in place, repeating the form.
	clock.Advance(staleness)
	r = p.Post(t, "account/passkeys/"+first+"/remove")
	expect(t, "stale remove", r, http.StatusForbidden, "Confirm it's you", `id="step-up"`, `id="stepup-form"`,
		`action="/t/default/account/passkeys/`+first+`/remove"`, `data-submit="stepup-form"`, "To remove a passkey")
	if len(p.CredentialIDs(t)) != 2 {
		t.Fatal("a stale session removed a passkey")
	}
	if r := p.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d %s", r.Status, r.Body)
	}
	apptest.ExpectRedirect(t, "remove", p.Post(t, "account/passkeys/"+first+"/remove"), "/t/default/account?done=passkey-removed")
	if got := p.CredentialIDs(t); !slices.Equal(got, []string{second}) {
		t.Fatalf("passkeys after removal: %v", got)
	}

	// The last passkey stays, with a sentence beside it.
	r = p.Post(t, "account/passkeys/"+second+"/remove")
	expect(t, "remove the last", r, http.StatusConflict, "This is your only way to sign in, so it cannot be removed.",
		`id="passkey-error-`+second+`"`)
	expect(t, "remove unknown", p.Post(t, "account/passkeys/nope/remove"), http.StatusNotFound, "That passkey does not exist.")

	expect(t, "activity", p.Get(t, "account"), http.StatusOK, "Recent security activity",
		`Passkey &#34;Passkey on Mac&#34; renamed to &#34;Work laptop&#34;`, `Passkey &#34;Second&#34; added`,
		`Passkey &#34;Work laptop&#34; removed`, "Confirmed it was you with a passkey")
}

func TestAccountEmailsAddVerifyPrimaryRemove(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	s.NewUser(t, "default", "someone@example.com")
	p := s.NewPerson("default")
	p.SignUp(t, "Pat")

	// Add and verify a first address.
	expect(t, "missing", p.Post(t, "account/emails", "email", ""), http.StatusBadRequest, "Enter your email address.", `id="new-email-error"`)
	expect(t, "invalid", p.Post(t, "account/emails", "email", "nope"), http.StatusBadRequest, "Enter an email address like name@example.com.")
	expect(t, "add first", p.Post(t, "account/emails", "email", "First@example.com"), http.StatusOK,
		"We sent a code to first@example.com.", `action="/t/default/account/emails/verify"`)
	expect(t, "wrong code", p.Post(t, "account/emails/verify", "email", "first@example.com", "code", "00000000"),
		http.StatusBadRequest, "That code is not right")
	apptest.ExpectRedirect(t, "verify first", p.Post(t, "account/emails/verify", "email", "first@example.com", "code", codeFor(t, s, "first@example.com")),
		"/t/default/account?done=email-added")
	r := p.Get(t, "account?done=email-added")
	expect(t, "account", r, http.StatusOK, "first@example.com", "Primary", "Verified", "Your email address is verified")
	if strings.Contains(string(r.Body), `id="add-email-prompt"`) {
		t.Fatal("still asked to add an email")
	}
	expect(t, "again", p.Post(t, "account/emails", "email", "first@example.com"), http.StatusBadRequest, "That address is already on your account.")

	// A second address: the first is told about it too.
	expect(t, "add second", p.Post(t, "account/emails", "email", "second@example.com"), http.StatusOK, "We sent a code to second@example.com.")
	apptest.ExpectRedirect(t, "verify second", p.Post(t, "account/emails/verify", "email", "second@example.com", "code", codeFor(t, s, "second@example.com")),
		"/t/default/account?done=email-added")
	if !hasMail(t, s, "first@example.com", "An email address was added to your account", "second@example.com was added") {
		t.Fatal("the first address was not told that a second was added")
	}

	sess := p.Session(t)
	_, ids := s.User(t, "default", sess.UserID)
	idOf := map[string]string{}
	for _, id := range ids {
		idOf[id.Value] = id.ID
	}

	// Changes on a stale session ask for a step-up and change nothing.
	clock.Advance(staleness)
	expect(t, "stale primary", p.Post(t, "account/emails/"+idOf["second@example.com"]+"/primary"), http.StatusForbidden,
		`id="step-up"`, "To change your primary email address")
	expect(t, "stale add", p.Post(t, "account/emails", "email", "third@example.com"), http.StatusForbidden,
		`name="email" value="third@example.com"`)
	if n := len(s.Mails(t, "third@example.com")); n != 0 {
		t.Fatal("a stale session sent a code")
	}
	if r := p.StepUp(t); r.Status != 200 {
		t.Fatalf("step-up: %d", r.Status)
	}

	// Make the second primary: both addresses are told.
	apptest.ExpectRedirect(t, "primary", p.Post(t, "account/emails/"+idOf["second@example.com"]+"/primary"), "/t/default/account?done=email-primary")
	for _, addr := range []string{"first@example.com", "second@example.com"} {
		if !hasMail(t, s, addr, "Your primary email address changed", "is now second@example.com. It was first@example.com.") {
			t.Fatalf("%s was not told about the primary change", addr)
		}
	}
	r = p.Get(t, "account")
	if regexp.MustCompile(`first@example.com</strong>\s*<span class="badge">Primary`).Match(r.Body) ||
		!regexp.MustCompile(`second@example.com</strong>\s*<span class="badge">Primary`).Match(r.Body) {
		t.Fatalf("primary badge not moved:\n%s", r.Body)
	}

	// Remove the old one: it is told, and so is the one that stays.
	apptest.ExpectRedirect(t, "remove", p.Post(t, "account/emails/"+idOf["first@example.com"]+"/remove"), "/t/default/account?done=email-removed")
	for _, addr := range []string{"first@example.com", "second@example.com"} {
		if !hasMail(t, s, addr, "An email address was removed from your account", "first@example.com was removed") {
			t.Fatalf("%s was not told about the removal", addr)
		}
	}
	expect(t, "remove again", p.Post(t, "account/emails/"+idOf["first@example.com"]+"/remove"), http.StatusNotFound,
		"That email address is no longer on your account.")

	// Another account's address: the same page, a note instead of a code, no change.
	expect(t, "add taken", p.Post(t, "account/emails", "email", "someone@example.com"), http.StatusOK,
		"We sent a code to someone@example.com.")
	if !hasMail(t, s, "someone@example.com", "Someone tried to add your email address", "nothing changed") {
		t.Fatal("the owner of the address was not told")
	}
	expect(t, "guess", p.Post(t, "account/emails/verify", "email", "someone@example.com", "code", "12345678"),
		http.StatusBadRequest, "That code is not right")
	for _, typ := range []string{audit.EmailAdded, audit.EmailPrimaryChanged, audit.EmailRemoved} {
		if len(s.Events(t, "default", typ)) == 0 {
			t.Fatalf("no %s event", typ)
		}
	}
	expect(t, "activity", p.Get(t, "account"), http.StatusOK, "Email address first@example.com removed",
		"Primary email address changed to second@example.com")
}

func TestEmailOnlyAccountKeepsItsLastAddress(t *testing.T) {
	s := apptest.Start(t)
	s.SetPolicy(t, "default", enableEmailCodeSignIn)
	u := s.NewUser(t, "default", "only@example.com")
	p := s.NewPerson("default")
	signInByCode(t, p, "only@example.com")
	_, ids := s.User(t, "default", u.ID)
	// A fresh sign-in is enough for an account with no passkey to give; the last
	// address still cannot go.
	expect(t, "remove last", p.Post(t, "account/emails/"+ids[0].ID+"/remove"), http.StatusConflict,
		"This address is your only way to sign in, so it cannot be removed.", `id="email-error-`+ids[0].ID+`"`)
}

func TestAccountSessionsRevokeOneAndOthers(t *testing.T) {
	clock := &apptest.Clock{}
	s := apptest.Start(t, apptest.WithClock(clock))
	p := s.NewPerson("default")
	p.SignUp(t, "Pat")
	laptop, phone := p.OtherBrowser(), p.OtherBrowser()
	laptop.SignIn(t)
	phone.SignIn(t)
	mine, laptops, phones := p.Session(t), laptop.Session(t), phone.Session(t)

	r := p.Get(t, "account")
	expect(t, "sessions", r, http.StatusOK, `id="session-`+mine.ID+`"`, `id="session-`+laptops.ID+`"`, `id="session-`+phones.ID+`"`,
		"This session", `id="revoke-others"`, "127.0.0.1", "Passkey sign-in")
	if n := strings.Count(string(r.Body), `<span class="badge">This session</span>`); n != 1 {
		t.Fatalf("%d sessions marked as this one", n)
	}

	apptest.ExpectRedirect(t, "revoke one", p.Post(t, "account/sessions/"+laptops.ID+"/revoke"), "/t/default/account?done=session-revoked")
	if r := laptop.Do(t, "GET", "api/passkey/credentials", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked session still works: %d", r.Status)
	}
	expect(t, "revoke again", p.Post(t, "account/sessions/"+laptops.ID+"/revoke"), http.StatusNotFound, "That session has already ended.")

	// Signing out everywhere else on a stale session needs a step-up.
	clock.Advance(staleness)
	expect(t, "stale revoke others", p.Post(t, "account/sessions/revoke-others"), http.StatusForbidden, `id="step-up"`)
	if r := phone.Do(t, "GET", "api/passkey/credentials", nil); r.Status != 200 {
		t.Fatal("a stale request revoked a session")
	}
	p.StepUp(t)
	apptest.ExpectRedirect(t, "revoke others", p.Post(t, "account/sessions/revoke-others"), "/t/default/account?done=sessions-revoked")
	if r := phone.Do(t, "GET", "api/passkey/credentials", nil); r.Status != http.StatusUnauthorized {
		t.Fatal("sign out everywhere else left a session")
	}
	expect(t, "still signed in here", p.Get(t, "account?done=sessions-revoked"), http.StatusOK,
		"Every other session was signed out.", "Signed out 1 other session")

	// Revoking this session is signing out; it needs no step-up.
	apptest.ExpectRedirect(t, "revoke own", p.Post(t, "account/sessions/"+mine.ID+"/revoke"), "/t/default/signin")
	if r := p.Do(t, "GET", "api/passkey/credentials", nil); r.Status != http.StatusUnauthorized {
		t.Fatal("signed out, still signed in")
	}
	if n := len(s.Events(t, "default", audit.SessionRevoked)) + len(s.Events(t, "default", audit.SessionsRevoked)); n != 3 {
		t.Fatalf("%d revocation events, want 3", n)
	}
}

func TestSignOut(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	p.SignUp(t, "Pat")
	sess := p.Session(t)
	r := p.Post(t, "signout")
	apptest.ExpectRedirect(t, "sign out", r, "/t/default/signin")
	if c := r.Header.Get("Set-Cookie"); !strings.Contains(c, "gh_session=;") || !strings.Contains(c, "Max-Age=0") {
		t.Fatalf("cookie not cleared: %q", c)
	}
	apptest.ExpectRedirect(t, "account", p.Get(t, "account"), "/t/default/signin")
	var got *store.Session
	s.App.Store.View(t.Context(), func(tx store.Tx) error {
		got, _ = tx.GetSession(t.Context(), "default", sess.ID)
		return nil
	})
	if got == nil || got.RevokedAt.IsZero() || got.RevokeReason != "signed out" {
		t.Fatalf("session after sign-out: %+v", got)
	}
	// Signing out without a session just lands on the sign-in page.
	apptest.ExpectRedirect(t, "sign out twice", p.Post(t, "signout"), "/t/default/signin")
}

// hasMail reports whether a delivered message to addr has a subject starting with
// subject and a body containing text.
func hasMail(t *testing.T, s *apptest.Server, addr, subject, text string) bool {
	t.Helper()
	for _, m := range s.Mails(t, addr) {
		if strings.HasPrefix(m.Subject, subject) && strings.Contains(m.Body, text) {
			return true
		}
	}
	return false
}
