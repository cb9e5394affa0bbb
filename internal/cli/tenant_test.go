package cli_test

import (
	"strings"
	"testing"
	"time"
)

// tenantOut is the --json form of a tenant that scripts rely on.
type tenantOut struct {
	ID          string         `json:"id"`
	DisplayName string         `json:"display_name"`
	CreatedAt   time.Time      `json:"created_at"`
	Issuer      string         `json:"issuer"`
	Policy      map[string]any `json:"policy"`
}

func TestTenantCreate(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)

	got := mustJSON[tenantOut](g, "--base-url", "https://id.example.com", "tenant", "create", "acme", "--name", "Acme")
	if got.ID != "acme" || got.DisplayName != "Acme" {
		t.Errorf("created %+v, want id acme named Acme", got)
	}
	if got.Issuer != "https://id.example.com/t/acme" {
		t.Errorf("issuer = %q, want https://id.example.com/t/acme", got.Issuer)
	}
	if got.CreatedAt.IsZero() {
		t.Error("created_at is missing")
	}

	line := g.mustFail("tenant", "create", "acme")
	mustContain(t, "duplicate tenant", line, "acme", "already exists")

	// The text form tells the operator the issuer too, from the default base URL.
	text := g.mustRun("tenant", "create", "beta")
	mustContain(t, "tenant create", text, "beta", "http://localhost:8080/t/beta")

	list := mustJSON[[]tenantOut](g, "tenant", "list")
	ids := map[string]string{}
	for _, tn := range list {
		ids[tn.ID] = tn.Issuer
	}
	for _, id := range []string{"system", "default", "acme", "beta"} {
		if _, ok := ids[id]; !ok {
			t.Errorf("tenant list --json lacks %s: %+v", id, list)
		}
	}
	if ids["acme"] != "http://localhost:8080/t/acme" {
		t.Errorf("listed issuer of acme = %q, want it from the current base URL", ids["acme"])
	}
	if len(list) != 4 {
		t.Errorf("tenant list has %d tenants, want 4 (a failed create must not add one)", len(list))
	}

	// Each new tenant starts its own audit chain.
	g.mustRun("audit", "verify", "--tenant", "acme")
}

func TestTenantCreateInvalidID(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	for _, id := range []string{"Bad_ID", "-acme", "acme corp", "a/b", strings.Repeat("a", 64), ""} {
		t.Run(id, func(t *testing.T) {
			// "--" ends the flags, so "-acme" reaches the id check as an operator would pass it.
			line := g.mustFail("tenant", "create", "--", id)
			mustContain(t, "invalid id", line, "lowercase letters, digits or dashes")
		})
	}
	list := mustJSON[[]tenantOut](g, "tenant", "list")
	if len(list) != 2 {
		t.Errorf("after only invalid creates there are %d tenants, want the 2 built-in ones", len(list))
	}
}

func TestTenantShow(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)

	got := mustJSON[tenantOut](g, "tenant", "show", "default")
	if got.ID != "default" || got.Issuer != "http://localhost:8080/t/default" {
		t.Errorf("tenant show default = %+v", got)
	}
	// The secure defaults of a fresh tenant: passkeys only, no device grant, no SMS or
	// password sign-in, user verification required.
	for path, want := range map[string]any{
		"flows.device_code":                  false,
		"flows.email_code_sign_in":           false,
		"methods.sms.sign_in":                false,
		"methods.password.sign_in":           false,
		"methods.passkey.sign_in":            true,
		"passkeys.user_verification":         "required",
		"recovery.tap_privileged_two_person": true,
	} {
		if v, ok := lookupPath(got.Policy, path); !ok || v != want {
			t.Errorf("policy %s = %v (present %v), want %v", path, v, ok, want)
		}
	}

	text := g.mustRun("tenant", "show", "default")
	mustContain(t, "tenant show", text, "device_code=false", "sms=false", "password=false", "passkey=true")

	line := g.mustFail("tenant", "show", "nope")
	mustContain(t, "unknown tenant", line, "tenant nope not found")
}

// lookupPath follows a dotted path through decoded JSON objects.
func lookupPath(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for key := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}
