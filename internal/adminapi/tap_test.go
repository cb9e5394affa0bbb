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
	expect(t, "issue without verified_by", op1.do(t, "POST", "/tenants/default/taps", map[string]string{"user": "boss@example.com"}),
		http.StatusBadRequest, "identity was checked")
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
	expect(t, "end a hold that is not there", op1.do(t, "POST", "/tenants/default/users/"+boss.ID+"/end-hold", nil), http.StatusConflict, "not on hold")
	expect(t, "end the hold of nobody", op1.do(t, "POST", "/tenants/default/users/nobody/end-hold", nil), http.StatusNotFound)
}
