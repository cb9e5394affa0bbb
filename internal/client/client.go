// Package client registers the OAuth 2.0 / OpenID Connect clients of each tenant:
// their type and authentication, redirect URIs, grants and scopes, and secrets, which
// are shown once and stored only as hashes.
package client

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

var (
	// ErrInvalid wraps input errors whose message is safe to show.
	ErrInvalid = errors.New("invalid")
	// ErrBadCredentials means the client is unknown, has no secret, or the secret is
	// wrong; callers answer invalid_client without saying which.
	ErrBadCredentials = errors.New("client: unknown client or wrong secret")
)

// secretBytes is the entropy of a client secret: 256 bits.
const secretBytes = 32

// Service manages clients. Every change and its audit event commit together.
type Service struct {
	Store store.Store
	Now   func() time.Time
}

// Result is a client after a change, with what the operator must see once.
type Result struct {
	Client *store.Client
	// Secret is the new plaintext secret, set only when the change created one. It is
	// not stored and cannot be shown again.
	Secret string
	// Warnings name the risks the change brings (the device_code grant, …).
	Warnings []string
}

// UsesSecret reports whether clients with auth method m authenticate with a secret.
func UsesSecret(m string) bool { return m == AuthSecretBasic || m == AuthSecretPost }

// RequiresPKCE reports whether the client must send a PKCE challenge (S256) with
// every authorization request: public clients cannot authenticate at the token
// endpoint, so PKCE is what binds the code to them.
func RequiresPKCE(c *store.Client) bool { return c.Type == store.ClientPublic }

// AllowsGrant reports whether the client may use grant.
func AllowsGrant(c *store.Client, grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// AllowsRedirect reports whether uri is one of the client's redirect URIs. Only public
// (native) clients get RFC 8252's any-port loopback match; for confidential clients
// the match is exact.
func AllowsRedirect(c *store.Client, uri string) bool { return allows(c, c.RedirectURIs, uri) }

// AllowsPostLogoutRedirect is AllowsRedirect for post-logout redirect URIs.
func AllowsPostLogoutRedirect(c *store.Client, uri string) bool {
	return allows(c, c.PostLogoutRedirectURIs, uri)
}

func allows(c *store.Client, registered []string, uri string) bool {
	if c.Type == store.ClientPublic {
		return MatchRedirect(registered, uri)
	}
	// MatchRedirect still refuses fragments and user names; Contains rules out the
	// loopback port exception.
	return MatchRedirect(registered, uri) && slices.Contains(registered, uri)
}

// newSecret returns a fresh secret and the hash to store.
func newSecret() (plain, hash string) {
	plain = secret.Token(secretBytes)
	return plain, secret.Hash(plain)
}

// Create registers a client in the tenant and returns it with its secret, if its
// auth method uses one.
func (s *Service) Create(ctx context.Context, tenantID string, in Settings, m audit.Meta) (*Result, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	now := store.Micro(s.Now())
	c := &store.Client{ID: secret.ID(), TenantID: tenantID, CreatedAt: now, UpdatedAt: now}
	fill(c, in)
	res := &Result{Client: c}
	if UsesSecret(c.AuthMethod) {
		res.Secret, c.SecretHash = newSecret()
		c.SecretRotatedAt = now
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := policyOf(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if err := tx.CreateClient(ctx, c); err != nil {
			return err
		}
		var risky bool
		res.Warnings, risky = review(in, nil, p)
		details := describe(in)
		details["warnings"] = res.Warnings
		return audit.Record(ctx, tx, now, m, audit.Entry{
			Type: audit.ClientCreated, TenantID: tenantID, TargetType: "client", TargetID: c.ID,
			Severity: severity(risky), Details: details,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Get returns the tenant's client id, or store.ErrNotFound.
func (s *Service) Get(ctx context.Context, tenantID, id string) (*store.Client, error) {
	var c *store.Client
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.GetClient(ctx, tenantID, id)
		return err
	})
	return c, err
}

// List returns the tenant's clients, oldest first.
func (s *Service) List(ctx context.Context, tenantID string) ([]store.Client, error) {
	var out []store.Client
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.ListClients(ctx, tenantID)
		return err
	})
	return out, err
}

// Update applies ch to the client. Switching to a secret-based auth method from one
// without a secret creates a secret (returned once); switching away deletes it. A
// change that changes nothing writes nothing.
func (s *Service) Update(ctx context.Context, tenantID, id string, ch Changes, m audit.Meta) (*Result, error) {
	var res *Result
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		res = nil
		c, err := tx.GetClient(ctx, tenantID, id)
		if err != nil {
			return err
		}
		prev := settingsOf(c)
		next := ch.apply(prev)
		if err := next.normalize(); err != nil {
			return err
		}
		changed := diff(prev, next)
		res = &Result{Client: c}
		if len(changed) == 0 {
			return nil
		}
		p, err := policyOf(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		now := store.Micro(s.Now())
		hadSecret, needsSecret := UsesSecret(c.AuthMethod), UsesSecret(next.AuthMethod)
		fill(c, next)
		c.UpdatedAt = now
		if err := tx.UpdateClient(ctx, c); err != nil {
			return err
		}
		switch {
		case needsSecret && !hadSecret:
			res.Secret, c.SecretHash = newSecret()
		case !needsSecret && hadSecret:
			c.SecretHash = ""
		}
		if needsSecret != hadSecret {
			c.SecretRotatedAt = now
			if err := tx.SetClientSecret(ctx, tenantID, id, c.SecretHash, now); err != nil {
				return err
			}
		}
		var risky bool
		res.Warnings, risky = review(next, &prev, p)
		details := map[string]any{"changed": changed, "warnings": res.Warnings}
		for k, v := range describe(next) {
			if slices.Contains(changed, k) {
				details[k] = v
			}
		}
		if res.Secret != "" {
			details["secret_created"] = true
		}
		return audit.Record(ctx, tx, now, m, audit.Entry{
			Type: audit.ClientUpdated, TenantID: tenantID, TargetType: "client", TargetID: id,
			Severity: severity(risky), Details: details,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Delete removes the client. Tokens already issued to it are the token store's to
// revoke; this only stops it from authenticating and getting new ones.
func (s *Service) Delete(ctx context.Context, tenantID, id string, m audit.Meta) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.GetClient(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteClient(ctx, tenantID, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, s.Now(), m, audit.Entry{
			Type: audit.ClientDeleted, TenantID: tenantID, TargetType: "client", TargetID: id,
			Details: map[string]any{"name": c.Name},
		})
	})
}

// RotateSecret replaces the client's secret at once and returns the new one; the old
// secret stops working when the transaction commits.
func (s *Service) RotateSecret(ctx context.Context, tenantID, id string, m audit.Meta) (*Result, error) {
	var res *Result
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.GetClient(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if !UsesSecret(c.AuthMethod) {
			return fmt.Errorf("%w: client %s authenticates with %s and has no secret to rotate", ErrInvalid, id, c.AuthMethod)
		}
		now := store.Micro(s.Now())
		plain, hash := newSecret()
		if err := tx.SetClientSecret(ctx, tenantID, id, hash, now); err != nil {
			return err
		}
		c.SecretHash, c.SecretRotatedAt, c.UpdatedAt = hash, now, now
		res = &Result{Client: c, Secret: plain}
		return audit.Record(ctx, tx, now, m, audit.Entry{
			Type: audit.ClientSecretRotated, TenantID: tenantID, TargetType: "client", TargetID: id,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// dummyHash stands in for the hash of an unknown client, so that checking a secret
// does the same work whether or not the client exists.
var dummyHash = secret.Hash("no such client")

// VerifySecret returns the client if plain is its current secret, comparing hashes in
// constant time; ErrBadCredentials otherwise. It writes nothing: the caller audits
// failures with the request's details.
func (s *Service) VerifySecret(ctx context.Context, tenantID, id, plain string) (*store.Client, error) {
	var c *store.Client
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		c, err = tx.GetClient(ctx, tenantID, id)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	want := dummyHash
	if c != nil && c.SecretHash != "" && UsesSecret(c.AuthMethod) {
		want = c.SecretHash
	}
	// No secret is that long: hash nothing rather than megabytes an attacker sent.
	valid := plain != "" && len(plain) <= maxSecretLen
	if !valid {
		plain = ""
	}
	ok := subtle.ConstantTimeCompare([]byte(secret.Hash(plain)), []byte(want)) == 1
	if !ok || !valid || want == dummyHash {
		return nil, ErrBadCredentials
	}
	return c, nil
}

// fill copies the settings onto the record.
func fill(c *store.Client, in Settings) {
	c.Name, c.Type, c.AuthMethod, c.JWKS = in.Name, in.Type, in.AuthMethod, in.JWKS
	c.RedirectURIs, c.PostLogoutRedirectURIs = in.RedirectURIs, in.PostLogoutRedirectURIs
	c.GrantTypes, c.Scopes = in.GrantTypes, in.Scopes
	c.FirstParty, c.RequirePAR, c.DPoPBound, c.IDTokenAlg = in.FirstParty, in.RequirePAR, in.DPoPBound, in.IDTokenAlg
	c.VerificationURIComplete, c.DeviceProximity = in.VerificationURIComplete, in.DeviceProximity
}

// describe returns the audit view of settings: everything but the keys themselves.
func describe(in Settings) map[string]any {
	return map[string]any{
		"name": in.Name, "type": in.Type, "auth_method": in.AuthMethod, "jwks": len(in.JWKS) > 0,
		"redirect_uris": in.RedirectURIs, "post_logout_redirect_uris": in.PostLogoutRedirectURIs,
		"grant_types": in.GrantTypes, "scopes": in.Scopes, "first_party": in.FirstParty,
		"require_pushed_authorization_requests": in.RequirePAR, "dpop_bound_access_tokens": in.DPoPBound,
		"id_token_signed_response_alg": in.IDTokenAlg, "verification_uri_complete": in.VerificationURIComplete,
		"device_proximity": in.DeviceProximity,
	}
}

// diff names the audit fields that differ between a and b.
func diff(a, b Settings) []string {
	da, db := describe(a), describe(b)
	var out []string
	for _, k := range []string{"name", "auth_method", "redirect_uris", "post_logout_redirect_uris", "grant_types",
		"scopes", "first_party", "require_pushed_authorization_requests", "dpop_bound_access_tokens",
		"id_token_signed_response_alg", "verification_uri_complete", "device_proximity"} {
		if fmt.Sprint(da[k]) != fmt.Sprint(db[k]) {
			out = append(out, k)
		}
	}
	if string(a.JWKS) != string(b.JWKS) {
		out = append(out, "jwks")
	}
	return out
}

func severity(risky bool) string {
	if risky {
		return audit.Medium
	}
	return audit.Info
}

// policyOf checks the tenant exists and returns its policy, inside tx.
func policyOf(ctx context.Context, tx store.Tx, tenantID string) (tenant.Policy, error) {
	if _, err := tx.GetTenant(ctx, tenantID); err != nil {
		return tenant.Policy{}, fmt.Errorf("tenant %q: %w", tenantID, err)
	}
	return tenant.CurrentPolicy(ctx, tx, tenantID)
}
