package adminapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// TestTAPsThroughTheAdminAPI: an operator issues a pass for an admin; the same
// operator and an admin client cannot approve it; a second person can. A client may
// issue an ordinary pass, recorded as the client's.
func TestTAPsThroughTheAdminAPI(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	op1 := withSession(operator(t, s))
	second, _ := member(t, s, "default", user.RoleAdmin)
	op2 := withSession(second)
	boss, err := s.App.Users.Create(ctx, "default", user.NewUser{DisplayName: "Boss", Email: "boss@example.com",
		EmailVerified: true, Roles: []string{user.RoleAdmin}}, audit.System())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Users.Create(ctx, "default", user.NewUser{DisplayName: "Ana", Email: "ana@example.com", EmailVerified: true}, audit.System()); err != nil {
		t.Fatal(err)
	}
	// The API names its own field, not the command line's flag.
	desc := expectError(t, "issue without verified_by", op1.do(t, "POST", "/tenants/default/taps", map[string]string{"user": "boss@example.com"}),
		http.StatusBadRequest, "invalid_request")
	if !strings.Contains(desc, "verified_by") || !strings.Contains(desc, "identity was checked") || strings.Contains(desc, "--") {
		t.Errorf("issue without verified_by: %q, want it to name verified_by and no command-line flag", desc)
	}
	r := op1.do(t, "POST", "/tenants/default/taps", map[string]string{"user": "boss@example.com", "verified_by": "video call, passport", "ttl": "30m"})
	expect(t, "issue", r, http.StatusCreated, `"needs_approval":true`, `"state":"awaiting_approval"`, `"pass":"`, boss.ID)
	var issued struct {
		ID   string `json:"id"`
		Pass string `json:"pass"`
	}
	r.JSON(t, &issued)

	expect(t, "the issuer approves", op1.do(t, "POST", "/tenants/default/taps/"+issued.ID+"/approve", nil),
		http.StatusForbidden, "different operator")
	_, tok := adminToken(t, s, "default")
	client := withToken(s, tok)
	expect(t, "a client approves", client.do(t, "POST", "/tenants/default/taps/"+issued.ID+"/approve", nil),
		http.StatusForbidden, "approved by a person")
	expect(t, "a second person approves", op2.do(t, "POST", "/tenants/default/taps/"+issued.ID+"/approve", nil),
		http.StatusOK, `"state":"ready"`)
	expect(t, "approve twice", op1.do(t, "POST", "/tenants/default/taps/"+issued.ID+"/approve", nil), http.StatusConflict)

	r = client.do(t, "POST", "/tenants/default/taps", map[string]string{"user": "ana@example.com", "verified_by": "ticket 4711, callback to HR number"})
	expect(t, "a client issues an ordinary pass", r, http.StatusCreated, `"needs_approval":false`, `"issued_by":"client:`)
	r.JSON(t, &issued)
	expect(t, "revoke it", client.do(t, "POST", "/tenants/default/taps/"+issued.ID+"/revoke", nil), http.StatusOK)
	list := op1.do(t, "GET", "/tenants/default/taps?live=true", nil)
	expect(t, "live passes", list, http.StatusOK, `"state":"ready"`)
	if strings.Contains(string(list.Body), `"pass"`) {
		t.Fatalf("a listing shows a pass's secret: %s", list.Body)
	}
	// A listing filter that is not a boolean is refused, not read as "everything".
	for _, q := range []string{"maybe", "1", "", "true&live=false"} {
		desc := expectError(t, "live="+q, op1.do(t, "GET", "/tenants/default/taps?live="+q, nil), http.StatusBadRequest, "invalid_request")
		if !strings.Contains(desc, "live") {
			t.Errorf("live=%s: %q does not name the parameter", q, desc)
		}
	}
	expect(t, "live=false lists every pass", op1.do(t, "GET", "/tenants/default/taps?live=false", nil), http.StatusOK, `"state":"revoked"`)

	// A pass that does not exist is not found, whatever is asked of it.
	for _, action := range []string{"approve", "revoke"} {
		desc := expectError(t, action+" nothing", op2.do(t, "POST", "/tenants/default/taps/nopass/"+action, nil), http.StatusNotFound, "not_found")
		if !strings.Contains(desc, "no pass nopass in tenant default") {
			t.Errorf("%s an unknown pass: %q", action, desc)
		}
	}
	expectError(t, "a client revokes nothing", client.do(t, "POST", "/tenants/default/taps/nopass/revoke", nil), http.StatusNotFound, "not_found")
	expect(t, "end a hold that is not there", op1.do(t, "POST", "/tenants/default/users/"+boss.ID+"/end-hold", nil), http.StatusConflict, "not on hold")
	expect(t, "end the hold of nobody", op1.do(t, "POST", "/tenants/default/users/nobody/end-hold", nil), http.StatusNotFound)
}
