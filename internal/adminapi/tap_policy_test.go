package adminapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestClientCannotTurnOffTheSecondOperator: an admin client that switches the
// two-person rule off in its tenant's policy still cannot hand itself a working pass
// for an admin's account. The pass waits for a person's approval, and the client
// cannot give it.
func TestClientCannotTurnOffTheSecondOperator(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	if _, err := s.App.Users.Create(ctx, "default", user.NewUser{DisplayName: "Boss", Email: "boss@example.com",
		EmailVerified: true, Roles: []string{user.RoleAdmin}}, audit.System()); err != nil {
		t.Fatal(err)
	}
	_, tok := adminToken(t, s, "default")
	c := withToken(s, tok)
	expect(t, "turn the rule off", c.do(t, "PATCH", "/tenants/default/policy", `{"recovery": {"tap_privileged_two_person": false}}`),
		http.StatusOK, "tap_privileged_two_person")
	r := c.do(t, "POST", "/tenants/default/taps", map[string]string{"user": "boss@example.com", "verified_by": "ticket 12"})
	expect(t, "a client issues a pass for an admin", r, http.StatusCreated, `"needs_approval":true`, `"state":"awaiting_approval"`)
	var issued struct {
		ID   string `json:"id"`
		Pass string `json:"pass"`
	}
	r.JSON(t, &issued)
	expect(t, "the client approves it", c.do(t, "POST", "/tenants/default/taps/"+issued.ID+"/approve", nil),
		http.StatusForbidden, "approved by a person")
	person := s.NewPerson("default")
	resp, err := person.Client.PostForm(s.URL+"/t/default/recover/tap", map[string][]string{"pass": {issued.Pass}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the unapproved pass signed in: %d", resp.StatusCode)
	}
}
