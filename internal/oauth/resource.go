package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// invalidToken answers a bad bearer token at userinfo (RFC 6750 §3.1).
func invalidToken(desc string) error {
	return op.NewStatusError(&oidc.Error{ErrorType: "invalid_token", Description: desc}, http.StatusUnauthorized)
}

func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, _, err := s.p.activeAccess(ctx, t.ID, r.Data.AccessToken)
	if errors.Is(err, errBadToken) {
		return nil, invalidToken("the access token is not valid")
	}
	if err != nil {
		return nil, serverError("check access token", err)
	}
	proofKey, _ := ctx.Value(dpopKey{}).(string)
	switch {
	case c.Cnf != nil && proofKey != c.Cnf.JKT:
		return nil, invalidToken("the access token is DPoP-bound: present it with the DPoP scheme and a proof of its key")
	case c.Cnf == nil && proofKey != "":
		return nil, invalidToken("the access token is not DPoP-bound: present it with the Bearer scheme")
	}
	scopes := strings.Fields(c.Scope)
	if !containsScope(scopes, "openid") || c.Subject == c.ClientID {
		return nil, op.NewStatusError(&oidc.Error{ErrorType: "insufficient_scope", Description: "userinfo needs the openid scope"}, http.StatusForbidden)
	}
	sub, err := s.p.loadSubject(ctx, t.ID, c.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidToken("the user can no longer sign in")
	}
	if err != nil {
		return nil, serverError("load user", err)
	}
	info := map[string]any{"sub": sub.ID}
	if containsScope(scopes, "profile") {
		info["name"] = sub.Name
	}
	if containsScope(scopes, "email") && sub.Email != "" {
		info["email"], info["email_verified"] = sub.Email, sub.EmailVerified
	}
	resp := op.NewResponse(info)
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// Introspect answers RFC 7662 for an authenticated client. Anything not live — bad
// signature, another tenant's token, expired, revoked family, used refresh token —
// is just {"active": false}.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	caller, err := s.p.authenticate(ctx, t.ID, r.Data.ClientCredentials, r.Header, r.URL.Path)
	if err != nil {
		return nil, err
	}
	if caller.AuthMethod == "none" {
		return nil, invalidClient("introspection needs an authenticated client")
	}
	out, err := s.p.introspect(ctx, t.ID, caller, r.Data.Token)
	if err != nil {
		return nil, serverError("introspect", err)
	}
	resp := op.NewResponse(out)
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

func (p *Provider) introspect(ctx context.Context, tenantID string, caller *store.Client, token string) (map[string]any, error) {
	inactive := map[string]any{"active": false}
	if strings.Count(token, ".") == 2 {
		c, _, err := p.activeAccess(ctx, tenantID, token)
		if errors.Is(err, errBadToken) {
			return inactive, nil
		}
		if err != nil {
			return nil, err
		}
		out := map[string]any{"active": true, "token_type": "Bearer", "scope": c.Scope, "client_id": c.ClientID,
			"sub": c.Subject, "iss": c.Issuer, "aud": []string(c.Audience), "jti": c.ID,
			"exp": c.Expiry.Time().Unix(), "iat": c.IssuedAt.Time().Unix()}
		if c.AuthTime != nil {
			out["auth_time"] = c.AuthTime.Time().Unix()
		}
		if c.ACR != "" {
			out["acr"] = c.ACR
		}
		if c.Cnf != nil {
			out["token_type"], out["cnf"] = tokenTypeDPoP, c.Cnf
		}
		if c.AuthFlow != "" {
			out["auth_flow"] = c.AuthFlow
		}
		return out, nil
	}
	// A refresh token is only described to the client it was issued to.
	rt, g, err := p.refreshOf(ctx, tenantID, token)
	if errors.Is(err, store.ErrNotFound) {
		return inactive, nil
	}
	if err != nil {
		return nil, err
	}
	now := p.Now()
	if g.ClientID != caller.ID || !rt.UsedAt.IsZero() || !g.RevokedAt.IsZero() || !now.Before(rt.ExpiresAt) || !now.Before(g.ExpiresAt) {
		return inactive, nil
	}
	out := map[string]any{"active": true, "token_type": "refresh_token", "scope": g.Scope, "client_id": g.ClientID,
		"sub": g.UserID, "iss": p.Issuer(tenantID), "exp": rt.ExpiresAt.Unix(), "iat": rt.CreatedAt.Unix()}
	if g.AuthFlow != "" {
		out["auth_flow"] = g.AuthFlow
	}
	return out, nil
}

func (p *Provider) refreshOf(ctx context.Context, tenantID, token string) (*store.RefreshToken, *store.Grant, error) {
	if token == "" || len(token) > 512 {
		return nil, nil, store.ErrNotFound
	}
	var rt *store.RefreshToken
	var g *store.Grant
	err := p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if rt, err = tx.GetRefreshToken(ctx, tenantID, secret.Hash(token)); err != nil {
			return err
		}
		g, err = tx.GetGrant(ctx, tenantID, rt.GrantID)
		return err
	})
	return rt, g, err
}

// Revocation implements RFC 7009. Revoking a refresh token or an access token of a
// grant revokes the whole grant. Unknown tokens and tokens of other clients get the
// same empty 200, so the endpoint tells nothing about them (§2.2).
func (s *server) Revocation(ctx context.Context, r *op.ClientRequest[oidc.RevocationRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, c := s.p, r.Client.(*clientView).c
	var grantID, kind string
	if strings.Count(r.Data.Token, ".") == 2 {
		claims, g, err := p.activeAccess(ctx, t.ID, r.Data.Token)
		if err != nil && !errors.Is(err, errBadToken) {
			return nil, serverError("check access token", err)
		}
		if err == nil && g != nil && claims.ClientID == c.ID {
			grantID, kind = g.ID, "access_token"
		}
	} else {
		_, g, err := p.refreshOf(ctx, t.ID, r.Data.Token)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, serverError("load refresh token", err)
		}
		if err == nil && g.ClientID == c.ID {
			grantID, kind = g.ID, "refresh_token"
		}
	}
	if grantID != "" {
		now := p.Now()
		err := p.Store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.RevokeGrant(ctx, t.ID, grantID, now, "revoked by client"); errors.Is(err, store.ErrNotFound) {
				return nil // already revoked: nothing more to record
			} else if err != nil {
				return err
			}
			return audit.Record(ctx, tx, now, clientMeta(ctx, c.ID), audit.Entry{Type: audit.OAuthTokenRevoked, TenantID: t.ID,
				TargetType: "client", TargetID: c.ID, Details: map[string]any{"grant_id": grantID, "token_type": kind}})
		})
		if err != nil {
			return nil, serverError("revoke grant", err)
		}
	}
	return op.NewResponse(struct{}{}), nil
}
