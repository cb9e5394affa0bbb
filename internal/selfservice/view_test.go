package selfservice

import (
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// TestRecoverLinkOnlyWhenThePageExists: the sign-in page links to recovery only when
// the tenant allows self-service recovery and a page answers there, so it never shows
// a dead link.
func TestRecoverLinkOnlyWhenThePageExists(t *testing.T) {
	r := httptest.NewRequest("GET", "/t/acme/signin", nil)
	r = r.WithContext(tenant.WithTenant(r.Context(), &store.Tenant{ID: "acme", DisplayName: "Acme"}))
	on := tenant.DefaultPolicy()
	off := tenant.DefaultPolicy()
	off.Flows.SelfServiceRecovery = false
	exists := func(method, path string) bool { return method == "GET" && path == "/t/acme/recover" }
	cases := []struct {
		hasRoute func(string, string) bool
		policy   tenant.Policy
		want     string
	}{
		{nil, on, ""},
		{func(string, string) bool { return false }, on, ""},
		{exists, off, ""},
		{exists, on, "/t/acme/recover?next=%2Ft%2Facme%2Faccount"},
	}
	for i, c := range cases {
		h := &Handlers{HasRoute: c.hasRoute}
		if got := h.signInView(r, c.policy, "/t/acme/account").RecoverURL; got != c.want {
			t.Errorf("case %d: recover link %q, want %q", i, got, c.want)
		}
	}
	if got := (&Handlers{}).signInView(r, on, "").SignUpURL; got != "/t/acme/signup" {
		t.Errorf("sign-up link %q", got)
	}
}
