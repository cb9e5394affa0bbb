package selfservice_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

func TestOperatorSetupLinkWorksOnce(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	link, err := s.App.SetupLink(ctx)
	if err != nil || link == "" {
		t.Fatalf("setup link: %q, %v", link, err)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")
	op := s.NewPerson(tenant.System)

	expect(t, "setup page", op.Get(t, u.RequestURI()), http.StatusOK, `id="setup-form"`, `id="setup-name"`, `id="setup-email"`)
	expect(t, "setup in another tenant", s.NewPerson("default").Get(t, "/t/default/setup?token="+url.QueryEscape(token)), http.StatusNotFound)
	expect(t, "missing name", op.Post(t, "setup", "token", token, "email", "op@example.com"), http.StatusBadRequest, "Enter your name.")
	expect(t, "bad email", op.Post(t, "setup", "token", token, "name", "Olive", "email", "x"), http.StatusBadRequest,
		"Enter an email address like name@example.com.", `value="Olive"`)

	r := op.Post(t, "setup", "token", token, "name", "Olive Operator", "email", "Olive@Example.com")
	apptest.ExpectRedirect(t, "redeem", r, "/t/system/signup/passkey")
	expect(t, "passkey page", op.Get(t, "signup/passkey"), http.StatusOK, `id="create-passkey"`, `data-next="/t/system/account"`)
	res := op.FinishRegister(t, op.BeginRegister(t, "Operator key", ""), nil)
	if res.Status != 200 || !strings.Contains(string(res.Body), `"redirect":"/t/system/account"`) {
		t.Fatalf("operator passkey: %d %s", res.Status, res.Body)
	}
	expect(t, "operator account", op.Get(t, "account"), http.StatusOK, "Olive Operator", "olive@example.com", "Not verified",
		`id="verify-`)

	ops, err := s.App.Users.List(ctx, tenant.System, store.UserQuery{Role: user.RoleOperator})
	if err != nil || len(ops) != 1 || !slices.Equal(ops[0].Roles, []string{user.RoleOperator}) {
		t.Fatalf("operators: %+v, %v", ops, err)
	}
	if len(s.Events(t, tenant.System, audit.OperatorSetupUsed)) != 1 {
		t.Fatal("setup link use not audited")
	}

	// The link is spent: the page and the form both say so, in any browser.
	other := s.NewPerson(tenant.System)
	expect(t, "second visit", other.Get(t, u.RequestURI()), http.StatusGone, "This setup link no longer works")
	expect(t, "second use", other.Post(t, "setup", "token", token, "name", "Mallory", "email", "m@example.com"),
		http.StatusGone, "This setup link no longer works")
	expect(t, "no token", other.Get(t, "setup"), http.StatusGone, "This setup link no longer works")
	if link, _ := s.App.SetupLink(ctx); link != "" {
		t.Fatal("a new setup link was issued although an operator exists")
	}
}

func TestOperatorSetupRefusedOnceAnOperatorExists(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	link, _ := s.App.SetupLink(ctx)
	u, _ := url.Parse(link)
	// An operator was added another way after the link was printed.
	if _, err := s.App.Users.Create(ctx, tenant.System, user.NewUser{DisplayName: "CLI op", Roles: []string{user.RoleOperator}}, audit.CLI("test")); err != nil {
		t.Fatal(err)
	}
	op := s.NewPerson(tenant.System)
	// Opening the link shows the same answer as submitting it: no form to fill in for
	// nothing.
	r := op.Get(t, "setup?token="+u.Query().Get("token"))
	expect(t, "open", r, http.StatusGone, "This setup link no longer works")
	if strings.Contains(string(r.Body), `name="email"`) {
		t.Fatalf("the spent link still shows the setup form:\n%s", r.Body)
	}
	expect(t, "redeem", op.Post(t, "setup", "token", u.Query().Get("token"), "name", "Late", "email", "late@example.com"),
		http.StatusGone, "This setup link no longer works")
}
