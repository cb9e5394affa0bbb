package selfservice_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestSignUpByEmailCodeThenPasskey(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")

	expect(t, "sign-up page", p.Get(t, "signup"), http.StatusOK,
		`id="signup-email"`, `id="passkey-signup"`, `action="/t/default/signup"`)

	r := p.Post(t, "signup", "name", "Ada Lovelace", "email", " Ada@Example.com ", "next", "/t/default/account?done=passkey-added")
	expect(t, "send code", r, http.StatusOK, "We sent an email to ada@example.com.", `name="code"`,
		`value="/t/default/account?done=passkey-added"`)

	// A wrong code is refused beside the field, and the code still works afterwards.
	expect(t, "wrong code", p.Post(t, "signup/verify", "email", "ada@example.com", "code", "00000000"),
		http.StatusBadRequest, "That code is not right or has expired.", `aria-invalid="true"`)
	expect(t, "malformed code", p.Post(t, "signup/verify", "email", "ada@example.com", "code", "12ab"),
		http.StatusBadRequest, "Enter the 8-digit code from the email.")

	code := codeFor(t, s, "ada@example.com")
	r = p.Post(t, "signup/verify", "email", "ada@example.com", "code", code[:4]+" "+code[4:],
		"next", "/t/default/account?done=passkey-added")
	loc := apptest.ExpectRedirect(t, "verify", r, "/t/default/signup/passkey")
	if !strings.Contains(loc, "next=%2Ft%2Fdefault%2Faccount%3Fdone%3Dpasskey-added") {
		t.Fatalf("next was not carried to the passkey step: %s", loc)
	}
	expect(t, "passkey page", p.Get(t, strings.TrimPrefix(loc, "/t/default/")), http.StatusOK,
		`id="create-passkey"`, `data-next="/t/default/account?done=passkey-added"`)
	// The same code does not verify twice.
	expect(t, "code reused", p.OtherBrowser().Post(t, "signup/verify", "email", "ada@example.com", "code", code),
		http.StatusBadRequest, "That code is not right")

	// The page's button runs register/begin and register/finish with the sign-up cookie.
	res := p.FinishRegister(t, p.BeginRegister(t, "Laptop", ""), nil)
	if res.Status != 200 {
		t.Fatalf("register: %d %s", res.Status, res.Body)
	}
	expect(t, "account", p.Get(t, "account"), http.StatusOK,
		"Ada Lovelace", "Laptop", "Synced passkey", "ada@example.com", "Primary", "Verified", "This session",
		"Account created", `Passkey &#34;Laptop&#34; added`)
	if strings.Contains(string(p.Get(t, "account").Body), `id="add-email-prompt"`) {
		t.Fatal("an account with a verified email is still asked to add one")
	}
	// Signed in, the sign-up and sign-in pages lead to the account.
	apptest.ExpectRedirect(t, "signup when signed in", p.Get(t, "signup"), "/t/default/account")
	apptest.ExpectRedirect(t, "signin when signed in", p.Get(t, "signin"), "/t/default/account")
}

func TestPasskeyFirstSignUpAsksForAnEmail(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	p.SignUp(t, "Grace Hopper")
	r := p.Get(t, "account")
	expect(t, "account", r, http.StatusOK, "Grace Hopper", `id="add-email-prompt"`, "Add an email for recovery",
		"You have no email address yet.", `id="new-email"`)
	// The account exists with no identifier at all.
	sess := p.Session(t)
	if _, ids := s.User(t, "default", sess.UserID); len(ids) != 0 {
		t.Fatalf("passkey-first account has identifiers %+v", ids)
	}
}

func TestSignUpPasskeyStepNeedsItsCookie(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	expect(t, "no pending sign-up", p.Get(t, "signup/passkey"), http.StatusGone, "Your sign-up has expired", "Start again")
	// The system tenant takes no sign-ups at all.
	op := s.NewPerson("system")
	expect(t, "system sign-up page", op.Get(t, "signup"), http.StatusNotFound)
	expect(t, "system sign-up post", op.Post(t, "signup", "email", "x@example.com"), http.StatusNotFound)
	if strings.Contains(string(op.Get(t, "signin").Body), "signup") {
		t.Fatal("the system tenant's sign-in page links to a sign-up page")
	}
}

func TestSignUpFormProblemsAreSentencesBesideTheField(t *testing.T) {
	s := apptest.Start(t)
	p := s.NewPerson("default")
	cases := []struct {
		form []string
		want string
	}{
		{[]string{"email", ""}, "Enter your email address."},
		{[]string{"email", "not-an-address"}, "Enter an email address like name@example.com."},
		{[]string{"email", "a@example.com", "name", strings.Repeat("n", 101)}, "Use at most 100 characters for your name."},
		{[]string{"email", "a@example.com", "name", "a\u0007b"}, "control characters"},
	}
	for _, c := range cases {
		r := p.Post(t, "signup", c.form...)
		expect(t, strings.Join(c.form, " "), r, http.StatusBadRequest, c.want, `aria-invalid="true"`)
	}
	if n := len(s.Mails(t, "a@example.com")); n != 0 {
		t.Fatalf("refused forms sent %d messages", n)
	}
}

func TestSignUpWithAnAddressThatHasAnAccountSendsANote(t *testing.T) {
	s := apptest.Start(t)
	s.NewUser(t, "default", "taken@example.com")
	p := s.NewPerson("default")
	expect(t, "send code", p.Post(t, "signup", "email", "taken@example.com"), http.StatusOK, "We sent an email to taken@example.com.")
	ms := s.Mails(t, "taken@example.com")
	if len(ms) != 1 || ms[0].Subject != "You already have an account at Default" || hasCode(ms[0].Body) ||
		!strings.Contains(ms[0].Body, "/t/default/signin") {
		t.Fatalf("mail to the existing account: %+v", ms)
	}
	// No code was sent, so no code can start a second account for the address.
	expect(t, "guess", p.Post(t, "signup/verify", "email", "taken@example.com", "code", "12345678"),
		http.StatusBadRequest, "That code is not right")
	var users []store.User
	users, _ = s.App.Users.List(t.Context(), "default", store.UserQuery{})
	if len(users) != 1 {
		t.Fatalf("%d users, want 1", len(users))
	}
}
