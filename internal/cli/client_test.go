package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// clientOut is the --json form of a client that scripts rely on.
type clientOut struct {
	ClientID               string          `json:"client_id"`
	Tenant                 string          `json:"tenant"`
	Name                   string          `json:"client_name"`
	Type                   string          `json:"client_type"`
	AuthMethod             string          `json:"token_endpoint_auth_method"`
	RedirectURIs           []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs []string        `json:"post_logout_redirect_uris"`
	GrantTypes             []string        `json:"grant_types"`
	Scopes                 []string        `json:"scopes"`
	FirstParty             bool            `json:"first_party"`
	RequirePAR             bool            `json:"require_pushed_authorization_requests"`
	DPoPBound              bool            `json:"dpop_bound_access_tokens"`
	IDTokenAlg             string          `json:"id_token_signed_response_alg"`
	JWKS                   json.RawMessage `json:"jwks"`
	HasSecret              bool            `json:"has_secret"`
	Secret                 string          `json:"client_secret"`
	Warnings               []string        `json:"warnings"`
}

// fileContains reports whether the database file, or its write-ahead log, holds s.
func (g *gatehouse) fileContains(s string) bool {
	g.t.Helper()
	for _, p := range []string{g.dbPath, g.dbPath + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			g.t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func TestClientLifecycle(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)

	c := mustJSON[clientOut](g, "client", "create", "--tenant", "default", "--name", "Web app",
		"--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "https://app.example.com/cb2",
		"--post-logout-redirect-uri", "https://app.example.com/", "--grant", "authorization_code", "--grant", "refresh_token",
		"--scope", "openid", "--scope", "email", "--require-par", "--dpop", "--id-token-alg", "RS256")
	if c.ClientID == "" || c.Tenant != "default" || c.Type != "confidential" || c.AuthMethod != "client_secret_basic" ||
		!c.HasSecret || len(c.Secret) != 43 || !c.RequirePAR || !c.DPoPBound || c.IDTokenAlg != "RS256" || c.FirstParty {
		t.Errorf("created %+v", c)
	}
	if !slices.Equal(c.RedirectURIs, []string{"https://app.example.com/cb", "https://app.example.com/cb2"}) ||
		!slices.Equal(c.GrantTypes, []string{"authorization_code", "refresh_token"}) || !slices.Equal(c.Scopes, []string{"openid", "email"}) {
		t.Errorf("lists: %+v", c)
	}
	if g.fileContains(c.Secret) {
		t.Error("the client secret is stored in the clear")
	}

	// The secret is shown once: never by show or list.
	shown := g.mustRun("client", "show", c.ClientID, "--json")
	if strings.Contains(shown, c.Secret) || strings.Contains(shown, "client_secret\"") {
		t.Errorf("show prints the secret:\n%s", shown)
	}
	if s := mustDecode[clientOut](t, shown); s.ClientID != c.ClientID || !s.HasSecret || s.Name != "Web app" {
		t.Errorf("show --json = %+v", s)
	}
	text := g.mustRun("client", "show", c.ClientID)
	mustContain(t, "client show", text, c.ClientID, "Web app", "client_secret_basic", "https://app.example.com/cb2", "RS256")
	list := mustJSON[[]clientOut](g, "client", "list")
	if len(list) != 1 || list[0].ClientID != c.ClientID || list[0].Secret != "" {
		t.Errorf("client list --json = %+v", list)
	}
	mustContain(t, "client list", g.mustRun("client", "list"), c.ClientID, "Web app", "authorization_code,refresh_token")

	// Update changes what is given, keeps the secret, and prints none.
	u := mustJSON[clientOut](g, "client", "update", c.ClientID, "--first-party", "--redirect-uri", "https://app.example.com/new")
	if !u.FirstParty || !slices.Equal(u.RedirectURIs, []string{"https://app.example.com/new"}) || u.Secret != "" ||
		!u.HasSecret || !u.RequirePAR || u.Name != "Web app" {
		t.Errorf("updated %+v", u)
	}
	mustContain(t, "update without flags", g.mustFail("client", "update", c.ClientID), "nothing to update")
	mustContain(t, "update --first-party=false", g.mustRun("client", "update", c.ClientID, "--first-party=false"), "updated client")
	if s := mustJSON[clientOut](g, "client", "show", c.ClientID); s.FirstParty {
		t.Error("--first-party=false did not clear the flag")
	}

	// Rotating prints a new secret in text form too, once.
	out := g.mustRun("client", "rotate-secret", c.ClientID)
	mustContain(t, "rotate-secret", out, "client_secret:", "shown only this once")
	if strings.Contains(out, c.Secret) {
		t.Error("rotate-secret printed the old secret")
	}

	g.mustRun("client", "delete", c.ClientID)
	mustContain(t, "show deleted", g.mustFail("client", "show", c.ClientID), "client "+c.ClientID+" not found")
	mustContain(t, "delete again", g.mustFail("client", "delete", c.ClientID), "not found")

	// Every change left an audit event in an intact chain.
	g.mustRun("audit", "verify", "--tenant", "default")
	events := g.mustRun("audit", "export", "--tenant", "default")
	for _, typ := range []string{"client.created", "client.updated", "client.secret_rotated", "client.deleted"} {
		mustContain(t, "audit export", events, `"`+typ+`"`)
	}
}

func TestClientCreateKinds(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)

	// A native app: public, no secret, loopback redirect.
	native := mustJSON[clientOut](g, "client", "create", "--name", "Desktop", "--type", "public",
		"--redirect-uri", "http://127.0.0.1/callback")
	if native.AuthMethod != "none" || native.HasSecret || native.Secret != "" {
		t.Errorf("public client %+v", native)
	}
	text := g.mustRun("client", "create", "--name", "Desktop 2", "--type", "public", "--redirect-uri", "http://[::1]/cb")
	if strings.Contains(text, "client_secret") {
		t.Errorf("a public client's create printed a secret line:\n%s", text)
	}

	// A service with private_key_jwt reads its keys from a file.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "svc-1", Algorithm: "ES256", Use: "sig"}}})
	jwksPath := filepath.Join(g.dir, "jwks.json")
	if err := os.WriteFile(jwksPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	svc := mustJSON[clientOut](g, "client", "create", "--name", "Billing", "--auth-method", "private_key_jwt",
		"--jwks-file", jwksPath, "--grant", "client_credentials", "--scope", "billing:read")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(svc.JWKS, &set); err != nil || len(set.Key("svc-1")) != 1 || svc.HasSecret {
		t.Errorf("private_key_jwt client %+v (%v)", svc, err)
	}

	// The device grant is allowed, with its warning on stderr.
	r := g.run("client", "create", "--name", "TV", "--type", "public", "--grant", "device_code", "--json")
	if r.code != 0 {
		t.Fatalf("create device client: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "stderr", r.stderr, "warning:", "device-code phishing")
	tv := mustDecode[clientOut](t, r.stdout)
	if !slices.Equal(tv.GrantTypes, []string{"urn:ietf:params:oauth:grant-type:device_code"}) || len(tv.Warnings) == 0 {
		t.Errorf("device client %+v", tv)
	}
	if len(mustJSON[[]clientOut](g, "client", "list")) != 4 {
		t.Error("client list does not show the four clients")
	}
}

func TestClientCommandsRefuse(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	web := []string{"--name", "x", "--redirect-uri", "https://app.example.com/cb"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown tenant", append([]string{"client", "create", "--tenant", "nope"}, web...), "tenant nope not found"},
		{"public with secret", append([]string{"client", "create", "--type", "public", "--auth-method", "client_secret_post"}, web...), "must be none"},
		{"confidential with none", append([]string{"client", "create", "--auth-method", "none"}, web...), "needs an auth method"},
		{"jwks uri", append([]string{"client", "create", "--auth-method", "private_key_jwt", "--jwks-uri", "https://app.example.com/jwks"}, web...), "does not fetch client keys"},
		{"missing jwks file", append([]string{"client", "create", "--auth-method", "private_key_jwt", "--jwks-file", "/nonexistent/jwks.json"}, web...), "--jwks-file"},
		{"http redirect", []string{"client", "create", "--name", "x", "--redirect-uri", "http://app.example.com/cb"}, "http is only allowed on localhost"},
		{"fragment", []string{"client", "create", "--name", "x", "--redirect-uri", "https://app.example.com/cb#x"}, "fragment"},
		{"no redirect", []string{"client", "create", "--name", "x"}, "at least one redirect URI"},
		{"no name", []string{"client", "create", "--redirect-uri", "https://app.example.com/cb"}, "needs a name"},
		{"bad grant", append([]string{"client", "create", "--grant", "password"}, web...), "grant type \"password\""},
		{"bad alg", append([]string{"client", "create", "--id-token-alg", "none"}, web...), "must be ES256 or RS256"},
		{"show unknown", []string{"client", "show", "nope"}, "client nope not found"},
		{"update unknown", []string{"client", "update", "nope", "--first-party"}, "client nope not found"},
		{"rotate unknown", []string{"client", "rotate-secret", "nope"}, "client nope not found"},
		{"type cannot change", []string{"client", "update", "nope", "--type", "public"}, "unknown flag: --type"},
		{"show needs an id", []string{"client", "show"}, "client show: missing the client ID"},
		{"unknown subcommand", []string{"client", "remove", "x"}, "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mustContain(t, strings.Join(c.args, " "), g.mustFail(c.args...), c.want)
		})
	}
	if list := mustJSON[[]clientOut](g, "client", "list"); len(list) != 0 {
		t.Errorf("refused commands created %d clients", len(list))
	}
}
