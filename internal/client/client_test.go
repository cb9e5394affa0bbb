package client_test

import (
	"context"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

var t0 = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	db  *sqlstore.DB
	svc *client.Service
	now time.Time
}

// mustFixture opens a migrated SQLite store with the tenants "acme" and "beta".
func mustFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, now: t0}
	now := func() time.Time { return f.now }
	ts := &tenant.Service{Store: db, Now: now}
	for _, id := range []string{"acme", "beta"} {
		if _, err := ts.Create(ctx, id, "", audit.System()); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = &client.Service{Store: db, Now: now}
	return f
}

var ops = audit.CLI("ops")

func webApp() client.Settings {
	return client.Settings{Name: "Web app", RedirectURIs: []string{"https://app.example.com/cb"},
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}}
}

func (f *fixture) mustCreate(t *testing.T, in client.Settings) *client.Result {
	t.Helper()
	res, err := f.svc.Create(context.Background(), "acme", in, ops)
	if err != nil {
		t.Fatalf("Create(%+v): %v", in, err)
	}
	return res
}

func (f *fixture) events(t *testing.T, typ string) []store.AuditEvent {
	t.Helper()
	var evs []store.AuditEvent
	err := f.db.View(context.Background(), func(tx store.Tx) error {
		var err error
		evs, err = tx.QueryAudit(context.Background(), store.AuditQuery{TenantID: "acme", Type: typ})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// rawClientRow returns every column of the client's row as text, as someone reading
// a copy of the database sees it.
func (f *fixture) rawClientRow(t *testing.T, id string) string {
	t.Helper()
	rows, err := f.db.SQL().QueryContext(context.Background(), `SELECT * FROM oauth_clients WHERE id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case string:
				b.WriteString(v + "\x00")
			case []byte:
				b.WriteString(string(v) + "\x00")
			}
		}
	}
	return b.String()
}

func TestCreateConfidentialClientShowsSecretOnceAndHashesIt(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	res := f.mustCreate(t, webApp())
	c := res.Client
	if c.Type != store.ClientConfidential || c.AuthMethod != client.AuthSecretBasic || c.IDTokenAlg != "ES256" {
		t.Errorf("defaults: type %s, auth %s, id token alg %s", c.Type, c.AuthMethod, c.IDTokenAlg)
	}
	if want := []string{"openid", "profile", "email", "offline_access"}; !slices.Equal(c.Scopes, want) {
		t.Errorf("default scopes %v, want %v", c.Scopes, want)
	}
	raw, err := base64.RawURLEncoding.DecodeString(res.Secret)
	if err != nil || len(raw) != 32 {
		t.Fatalf("secret %q is not 256 bits of base64url: %v", res.Secret, err)
	}
	if len(c.ID) < 32 || strings.ContainsAny(c.ID, "/+=?#&% ") {
		t.Errorf("client id %q is short or not URL-safe", c.ID)
	}

	sum := sha256.Sum256([]byte(res.Secret))
	row := f.rawClientRow(t, c.ID)
	if strings.Contains(row, res.Secret) {
		t.Error("the plaintext secret is in the database")
	}
	if !strings.Contains(row, hex.EncodeToString(sum[:])) {
		t.Error("the database does not hold the secret's SHA-256")
	}
	for _, e := range f.events(t, "") {
		if strings.Contains(string(e.Details), res.Secret) || strings.Contains(string(e.Details), hex.EncodeToString(sum[:])) {
			t.Errorf("audit event %s carries the secret or its hash: %s", e.Type, e.Details)
		}
	}

	got, err := f.svc.VerifySecret(ctx, "acme", c.ID, res.Secret)
	if err != nil || got.ID != c.ID {
		t.Fatalf("VerifySecret(right secret) = %v, %v", got, err)
	}
	for name, try := range map[string]struct{ tenant, id, secret string }{
		"wrong secret":  {"acme", c.ID, res.Secret[:len(res.Secret)-1] + "x"},
		"empty secret":  {"acme", c.ID, ""},
		"the hash":      {"acme", c.ID, hex.EncodeToString(sum[:])},
		"other tenant":  {"beta", c.ID, res.Secret},
		"unknown":       {"acme", "nobody", res.Secret},
		"huge secret":   {"acme", c.ID, strings.Repeat("a", 1<<20)},
		"secret as id":  {"acme", res.Secret, res.Secret},
		"client as key": {"acme", c.ID, c.ID},
	} {
		if _, err := f.svc.VerifySecret(ctx, try.tenant, try.id, try.secret); !errors.Is(err, client.ErrBadCredentials) {
			t.Errorf("VerifySecret(%s) = %v, want ErrBadCredentials", name, err)
		}
	}

	evs := f.events(t, audit.ClientCreated)
	if len(evs) != 1 || evs[0].TargetID != c.ID || evs[0].ActorID != "ops" || evs[0].Severity != audit.Info {
		t.Fatalf("client.created events: %+v", evs)
	}
}

func TestRotateSecret(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	first := f.mustCreate(t, webApp())
	f.now = t0.Add(time.Hour)
	res, err := f.svc.RotateSecret(ctx, "acme", first.Client.ID, ops)
	if err != nil {
		t.Fatal(err)
	}
	if res.Secret == "" || res.Secret == first.Secret || !res.Client.SecretRotatedAt.Equal(f.now) {
		t.Fatalf("RotateSecret = %+v", res)
	}
	if _, err := f.svc.VerifySecret(ctx, "acme", first.Client.ID, first.Secret); !errors.Is(err, client.ErrBadCredentials) {
		t.Errorf("the old secret still works: %v", err)
	}
	if _, err := f.svc.VerifySecret(ctx, "acme", first.Client.ID, res.Secret); err != nil {
		t.Errorf("the new secret does not work: %v", err)
	}
	if evs := f.events(t, audit.ClientSecretRotated); len(evs) != 1 || evs[0].TargetID != first.Client.ID {
		t.Errorf("client.secret_rotated events: %+v", evs)
	}

	public := f.mustCreate(t, client.Settings{Name: "CLI", Type: store.ClientPublic, RedirectURIs: []string{"http://127.0.0.1/cb"}})
	if public.Secret != "" || public.Client.SecretHash != "" {
		t.Errorf("a public client got a secret")
	}
	if _, err := f.svc.RotateSecret(ctx, "acme", public.Client.ID, ops); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("RotateSecret(public) = %v, want ErrInvalid", err)
	}
	if _, err := f.svc.VerifySecret(ctx, "acme", public.Client.ID, ""); !errors.Is(err, client.ErrBadCredentials) {
		t.Errorf("VerifySecret(public, empty) = %v, want ErrBadCredentials", err)
	}
	if !client.RequiresPKCE(public.Client) || client.RequiresPKCE(first.Client) {
		t.Error("RequiresPKCE must hold for public clients only")
	}
	if _, err := f.svc.RotateSecret(ctx, "acme", "nobody", ops); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateSecret(unknown) = %v, want ErrNotFound", err)
	}
}

func TestDeviceCodeGrantWarnsAndAuditsMedium(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	tv := client.Settings{Name: "TV app", Type: store.ClientPublic, GrantTypes: []string{client.GrantDeviceCode, client.GrantRefreshToken}}
	res := f.mustCreate(t, tv)
	if !slices.Contains(res.Warnings, client.DeviceCodeWarning) || !strings.Contains(client.DeviceCodeWarning, "device-code phishing") {
		t.Errorf("warnings %q do not name device-code phishing", res.Warnings)
	}
	// The default tenant policy has the device flow off: say so too.
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "policy has the device_code flow") }) {
		t.Errorf("warnings %q do not say the tenant policy has the device flow off", res.Warnings)
	}
	if slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "scope ceiling") }) {
		t.Errorf("default scopes (with offline_access) warned about the device scope ceiling: %q", res.Warnings)
	}
	mail := f.mustCreate(t, client.Settings{Name: "Mail reader", Type: store.ClientPublic,
		GrantTypes: []string{client.GrantDeviceCode}, Scopes: []string{"openid", "mail:read"}})
	if !slices.ContainsFunc(mail.Warnings, func(w string) bool { return strings.Contains(w, "scopes mail:read are above") }) {
		t.Errorf("a device client with scopes above the ceiling did not warn: %q", mail.Warnings)
	}
	evs := f.events(t, audit.ClientCreated)
	if len(evs) != 2 || evs[0].Severity != audit.Medium {
		t.Fatalf("client.created of a device client: %+v, want severity medium", evs)
	}

	// Enabling it later on another client warns and audits the same way; a change that
	// keeps it does not warn again.
	web := f.mustCreate(t, webApp())
	grants := []string{client.GrantAuthorizationCode, client.GrantDeviceCode}
	up, err := f.svc.Update(ctx, "acme", web.Client.ID, client.Changes{GrantTypes: &grants}, ops)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(up.Warnings, client.DeviceCodeWarning) {
		t.Errorf("update warnings %q lack the device-code warning", up.Warnings)
	}
	name := "Renamed"
	again, err := f.svc.Update(ctx, "acme", web.Client.ID, client.Changes{Name: &name}, ops)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(again.Warnings, client.DeviceCodeWarning) {
		t.Error("an unrelated change repeated the device-code warning")
	}
	upd := f.events(t, audit.ClientUpdated)
	if len(upd) != 2 || upd[0].Severity != audit.Medium || upd[1].Severity != audit.Info {
		t.Fatalf("client.updated severities: %+v", upd)
	}
	var details map[string]any
	if err := json.Unmarshal(upd[0].Details, &details); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(toStrings(details["changed"]), []string{"grant_types"}) {
		t.Errorf("update details changed = %v", details["changed"])
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestCreateRefusals(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	jwks := jwksDoc(t, jwk(t, &mustECKey(t, elliptic.P256()).PublicKey, nil))
	https := []string{"https://app.example.com/cb"}
	cases := []struct {
		name string
		in   client.Settings
		want string
	}{
		{"no name", client.Settings{RedirectURIs: https}, "needs a name"},
		{"blank name", client.Settings{Name: "  ", RedirectURIs: https}, "needs a name"},
		{"control characters in name", client.Settings{Name: "a\x1b[31mb", RedirectURIs: https}, "printable"},
		{"unknown type", client.Settings{Name: "x", Type: "trusted", RedirectURIs: https}, "confidential or public"},
		{"public with a secret", client.Settings{Name: "x", Type: store.ClientPublic, AuthMethod: client.AuthSecretBasic, RedirectURIs: https}, "must be none"},
		{"public with a key", client.Settings{Name: "x", Type: store.ClientPublic, AuthMethod: client.AuthPrivateKeyJWT, JWKS: jwks, RedirectURIs: https}, "must be none"},
		{"confidential without auth", client.Settings{Name: "x", AuthMethod: client.AuthNone, RedirectURIs: https}, "needs an auth method"},
		{"unknown auth method", client.Settings{Name: "x", AuthMethod: "tls_client_auth", RedirectURIs: https}, "must be client_secret_basic"},
		{"private_key_jwt without keys", client.Settings{Name: "x", AuthMethod: client.AuthPrivateKeyJWT, RedirectURIs: https}, "needs its public keys"},
		{"jwks_uri", client.Settings{Name: "x", AuthMethod: client.AuthPrivateKeyJWT, JWKSURI: "https://app.example.com/jwks", RedirectURIs: https}, "does not fetch client keys"},
		{"JWKS with a secret", client.Settings{Name: "x", JWKS: jwks, RedirectURIs: https}, "only private_key_jwt"},
		{"private key in JWKS", client.Settings{Name: "x", AuthMethod: client.AuthPrivateKeyJWT, JWKS: jwksDoc(t, jwk(t, mustECKey(t, elliptic.P256()), nil)), RedirectURIs: https}, "private key material"},
		{"public client_credentials", client.Settings{Name: "x", Type: store.ClientPublic, GrantTypes: []string{client.GrantClientCredentials}}, "cannot use client_credentials"},
		{"unknown grant", client.Settings{Name: "x", GrantTypes: []string{"password"}, RedirectURIs: https}, "grant type \"password\""},
		{"implicit grant", client.Settings{Name: "x", GrantTypes: []string{"implicit"}, RedirectURIs: https}, "grant type \"implicit\""},
		{"refresh alone", client.Settings{Name: "x", GrantTypes: []string{client.GrantRefreshToken}}, "refresh_token needs"},
		{"code without redirect", client.Settings{Name: "x"}, "at least one redirect URI"},
		{"redirect without code", client.Settings{Name: "x", GrantTypes: []string{client.GrantClientCredentials}, RedirectURIs: https}, "only used by the authorization_code"},
		{"post-logout without code", client.Settings{Name: "x", GrantTypes: []string{client.GrantClientCredentials}, PostLogoutRedirectURIs: https}, "only used by the authorization_code"},
		{"http redirect", client.Settings{Name: "x", RedirectURIs: []string{"http://app.example.com/cb"}}, "http is only allowed"},
		{"wildcard redirect", client.Settings{Name: "x", RedirectURIs: []string{"https://*.example.com/cb"}}, "wildcards"},
		{"fragment in post-logout", client.Settings{Name: "x", RedirectURIs: https, PostLogoutRedirectURIs: []string{"https://app.example.com/#bye"}}, "fragment"},
		{"custom scheme", client.Settings{Name: "x", Type: store.ClientPublic, RedirectURIs: []string{"com.example.app://cb"}}, "must use https"},
		{"scope with space", client.Settings{Name: "x", RedirectURIs: https, Scopes: []string{"openid email"}}, "scope \"openid email\""},
		{"scope with quote", client.Settings{Name: "x", RedirectURIs: https, Scopes: []string{`a"b`}}, "scope"},
		{"id token alg", client.Settings{Name: "x", RedirectURIs: https, IDTokenAlg: "HS256"}, "must be ES256 or RS256"},
		{"PAR without code", client.Settings{Name: "x", GrantTypes: []string{client.GrantClientCredentials}, RequirePAR: true}, "require_pushed_authorization_requests"},
		{"verification_uri_complete without device", client.Settings{Name: "x", RedirectURIs: https, VerificationURIComplete: true}, "need the device_code grant"},
		{"proximity without device", client.Settings{Name: "x", RedirectURIs: https, DeviceProximity: "warn"}, "need the device_code grant"},
		{"unknown proximity", client.Settings{Name: "x", GrantTypes: []string{client.GrantDeviceCode}, DeviceProximity: "sometimes"}, "off, warn or require"},
		{"device code with admin scope", client.Settings{Name: "x", GrantTypes: []string{client.GrantDeviceCode}, Scopes: []string{"openid", client.AdminScope}}, "cannot be combined"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.Create(ctx, "acme", c.in, ops)
			if !errors.Is(err, client.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Create = %v, want an ErrInvalid saying %q", err, c.want)
			}
		})
	}
	if _, err := f.svc.Create(ctx, "nobody", webApp(), ops); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Create in an unknown tenant = %v, want ErrNotFound", err)
	}
	if list, err := f.svc.List(ctx, "acme"); err != nil || len(list) != 0 {
		t.Errorf("after refused creates the tenant has %d clients, %v", len(list), err)
	}
	if evs := f.events(t, "client."); len(evs) != 0 {
		t.Errorf("refused creates wrote %d audit events", len(evs))
	}
}

func TestCreateEveryKind(t *testing.T) {
	f := mustFixture(t)
	jwks := jwksDoc(t, jwk(t, &mustECKey(t, elliptic.P256()).PublicKey, map[string]any{"kid": "k1"}))
	m2m := f.mustCreate(t, client.Settings{Name: "Billing job", AuthMethod: client.AuthPrivateKeyJWT, JWKS: jwks,
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"billing:read"}, DPoPBound: true})
	if m2m.Secret != "" || m2m.Client.SecretHash != "" || len(m2m.Client.JWKS) == 0 {
		t.Errorf("private_key_jwt client: secret %q hash %q jwks %s", m2m.Secret, m2m.Client.SecretHash, m2m.Client.JWKS)
	}
	if set, err := client.KeySet(m2m.Client); err != nil || len(set.Key("k1")) != 1 {
		t.Errorf("KeySet = %v, %v", set, err)
	}
	if len(m2m.Client.RedirectURIs) != 0 || len(m2m.Client.Scopes) != 1 {
		t.Errorf("machine client %+v", m2m.Client)
	}

	native := f.mustCreate(t, client.Settings{Name: "Desktop", Type: store.ClientPublic,
		RedirectURIs: []string{"http://127.0.0.1/cb", "http://127.0.0.1/cb", "http://[::1]/cb"},
		GrantTypes:   []string{client.GrantRefreshToken, client.GrantAuthorizationCode, client.GrantAuthorizationCode}})
	if !slices.Equal(native.Client.RedirectURIs, []string{"http://127.0.0.1/cb", "http://[::1]/cb"}) ||
		!slices.Equal(native.Client.GrantTypes, []string{client.GrantAuthorizationCode, client.GrantRefreshToken}) {
		t.Errorf("repeats are not dropped or grants not ordered: %+v", native.Client)
	}
	if native.Client.AuthMethod != client.AuthNone || !client.AllowsRedirect(native.Client, "http://127.0.0.1:43210/cb") {
		t.Errorf("native client: %+v", native.Client)
	}

	admin := f.mustCreate(t, client.Settings{Name: "Provisioner", GrantTypes: []string{client.GrantClientCredentials},
		Scopes: []string{client.AdminScope}})
	if !slices.ContainsFunc(admin.Warnings, func(w string) bool { return strings.Contains(w, client.AdminScope) }) {
		t.Errorf("granting %s did not warn: %q", client.AdminScope, admin.Warnings)
	}

	got, err := f.svc.Get(context.Background(), "acme", native.Client.ID)
	if err != nil || got.Name != "Desktop" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	list, err := f.svc.List(context.Background(), "acme")
	if err != nil || len(list) != 3 {
		t.Errorf("List = %d clients, %v", len(list), err)
	}
}

func TestUpdate(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	orig := f.mustCreate(t, webApp())
	id := orig.Client.ID
	f.now = t0.Add(time.Minute)

	// Only what is given changes.
	uris := []string{"https://app.example.com/cb2"}
	first, yes := true, true
	res, err := f.svc.Update(ctx, "acme", id, client.Changes{RedirectURIs: &uris, FirstParty: &first, DPoPBound: &yes}, ops)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Client
	if !slices.Equal(c.RedirectURIs, uris) || !c.FirstParty || !c.DPoPBound || c.Name != "Web app" ||
		!slices.Equal(c.GrantTypes, orig.Client.GrantTypes) || !c.UpdatedAt.Equal(f.now) || !c.CreatedAt.Equal(t0) {
		t.Errorf("after update: %+v", c)
	}
	if res.Secret != "" {
		t.Error("an update that keeps the auth method made a new secret")
	}
	if _, err := f.svc.VerifySecret(ctx, "acme", id, orig.Secret); err != nil {
		t.Errorf("the secret stopped working after an unrelated update: %v", err)
	}

	// A change to the same values writes nothing.
	before := len(f.events(t, audit.ClientUpdated))
	if _, err := f.svc.Update(ctx, "acme", id, client.Changes{RedirectURIs: &uris}, ops); err != nil {
		t.Fatal(err)
	}
	if after := len(f.events(t, audit.ClientUpdated)); after != before {
		t.Errorf("a change to the same values wrote %d audit events", after-before)
	}

	// Switching to private_key_jwt deletes the secret; switching back makes a new one.
	pkj, jwks := client.AuthPrivateKeyJWT, jwksDoc(t, jwk(t, &mustECKey(t, elliptic.P256()).PublicKey, nil))
	res, err = f.svc.Update(ctx, "acme", id, client.Changes{AuthMethod: &pkj, JWKS: &jwks}, ops)
	if err != nil {
		t.Fatal(err)
	}
	if res.Client.SecretHash != "" || res.Secret != "" {
		t.Errorf("private_key_jwt client kept a secret")
	}
	if _, err := f.svc.VerifySecret(ctx, "acme", id, orig.Secret); !errors.Is(err, client.ErrBadCredentials) {
		t.Errorf("the secret still works after switching to private_key_jwt: %v", err)
	}
	post := client.AuthSecretPost
	res, err = f.svc.Update(ctx, "acme", id, client.Changes{AuthMethod: &post}, ops)
	if err != nil {
		t.Fatal(err)
	}
	if res.Secret == "" || len(res.Client.JWKS) != 0 {
		t.Fatalf("switching to client_secret_post: secret %q, jwks %s", res.Secret, res.Client.JWKS)
	}
	if _, err := f.svc.VerifySecret(ctx, "acme", id, res.Secret); err != nil {
		t.Errorf("the new secret does not work: %v", err)
	}
	stored, err := f.svc.Get(ctx, "acme", id)
	if err != nil || stored.AuthMethod != client.AuthSecretPost || stored.SecretHash == "" || len(stored.JWKS) != 0 {
		t.Errorf("stored after switch: %+v, %v", stored, err)
	}

	// A refused change changes nothing.
	none := client.AuthNone
	if _, err := f.svc.Update(ctx, "acme", id, client.Changes{AuthMethod: &none}, ops); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("Update to auth none on a confidential client = %v, want ErrInvalid", err)
	}
	empty := []string{}
	if _, err := f.svc.Update(ctx, "acme", id, client.Changes{RedirectURIs: &empty}, ops); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("removing every redirect URI of a code client = %v, want ErrInvalid", err)
	}
	if again, _ := f.svc.Get(ctx, "acme", id); again.UpdatedAt != stored.UpdatedAt || len(again.RedirectURIs) != 1 {
		t.Errorf("a refused update changed the client: %+v", again)
	}
	if _, err := f.svc.Update(ctx, "beta", id, client.Changes{FirstParty: &first}, ops); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update from another tenant = %v, want ErrNotFound", err)
	}
}

func TestDelete(t *testing.T) {
	f := mustFixture(t)
	ctx := context.Background()
	res := f.mustCreate(t, webApp())
	if err := f.svc.Delete(ctx, "beta", res.Client.ID, ops); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete from another tenant = %v, want ErrNotFound", err)
	}
	if err := f.svc.Delete(ctx, "acme", res.Client.ID, ops); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifySecret(ctx, "acme", res.Client.ID, res.Secret); !errors.Is(err, client.ErrBadCredentials) {
		t.Errorf("a deleted client authenticated: %v", err)
	}
	if err := f.svc.Delete(ctx, "acme", res.Client.ID, ops); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if evs := f.events(t, audit.ClientDeleted); len(evs) != 1 || evs[0].TargetID != res.Client.ID {
		t.Errorf("client.deleted events: %+v", evs)
	}
}
