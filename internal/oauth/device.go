package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/device"
	"github.com/gatehouse-id/gatehouse/internal/network"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// pathDeviceAuthorization is the RFC 8628 §3.1 endpoint below the issuer.
const pathDeviceAuthorization = "/oauth2/device_authorization"

// DeviceAuthorization answers RFC 8628 §3.1–3.2: for a client allowed the device
// grant on a tenant that has it on, a device code and a user code. Anything else is
// unauthorized_client, so a phishing kit learns nothing more from a default tenant.
func (s *server) DeviceAuthorization(ctx context.Context, r *op.ClientRequest[oidc.DeviceAuthorizationRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, c := s.p, r.Client.(*clientView).c
	pol, err := s.policy(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case !pol.Flows.DeviceCode:
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the device authorization grant is turned off for this tenant")
	case !client.AllowsGrant(c, client.GrantDeviceCode):
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this client is not allowed the device authorization grant")
	case p.Device == nil:
		return nil, serverError("device grant", errors.New("no device service configured"))
	}
	scopes, err := deviceScopes(c, pol, r.Data.Scopes)
	if err != nil {
		return nil, err
	}
	ip := web.ClientIP(ctx)
	m := clientMeta(ctx, c.ID)
	m.UserAgent, m.Flow = r.Header.Get("User-Agent"), device.Flow
	if ip.IsValid() {
		m.Network = network.Of(ip).String()
	}
	iss, err := p.Device.Start(ctx, t.ID, c, scopes, pol, device.Requester{IP: ip, UserAgent: r.Header.Get("User-Agent")}, m)
	if err != nil {
		return nil, serverError("start device authorization", err)
	}
	verify := p.Issuer(t.ID) + "/device"
	out := &oidc.DeviceAuthorizationResponse{DeviceCode: iss.DeviceCode, UserCode: iss.UserCode, VerificationURI: verify,
		ExpiresIn: int(iss.ExpiresIn / time.Second), Interval: int(iss.Interval / time.Second)}
	if c.VerificationURIComplete {
		// Off unless the client is allowed it: a link that carries the code is exactly
		// what a phishing message would want to send.
		out.VerificationURIComplete = verify + "?" + url.Values{"user_code": {iss.UserCode}}.Encode()
	}
	resp := op.NewResponse(out)
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// deviceScopes cuts the requested scopes to what the device flow may grant: each must
// be allowed to the client (else invalid_scope), and those above the tenant's device
// scope ceiling are left out, as the client's registration warned. offline_access
// only asks for a refresh token, whose device lifetime the policy bounds separately.
func deviceScopes(c *store.Client, pol tenant.Policy, requested []string) ([]string, error) {
	if len(requested) == 0 {
		requested = c.Scopes
	}
	var out []string
	for _, sc := range requested {
		if len(sc) > 256 || !allowedScope(c, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", clipText(sc, 64))
		}
		if (sc == "offline_access" || containsScope(pol.Device.ScopeCeiling, sc)) && !containsScope(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// DeviceToken answers the device's polls (RFC 8628 §3.4–3.5). A pending poll costs
// one read; an approved code is redeemed exactly once, even with two nodes racing.
func (s *server) DeviceToken(ctx context.Context, r *op.ClientRequest[oidc.DeviceAccessTokenRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, c := s.p, r.Client.(*clientView).c
	if p.Device == nil {
		return nil, oidc.ErrUnsupportedGrantType().WithDescription("the device authorization grant is not available")
	}
	d, err := p.Device.Poll(ctx, t.ID, c.ID, r.Data.DeviceCode)
	switch {
	case errors.Is(err, device.ErrPending):
		return nil, oidc.ErrAuthorizationPending().WithDescription("the user has not approved the request yet")
	case errors.Is(err, device.ErrSlowDown):
		return nil, oidc.ErrSlowDown().WithDescription("polling too fast: add 5 seconds to the interval")
	case errors.Is(err, device.ErrDenied):
		return nil, oidc.ErrAccessDenied().WithDescription("the user denied the request")
	case errors.Is(err, device.ErrExpired):
		return nil, oidc.ErrExpiredDeviceCode().WithDescription("the device code has expired")
	case errors.Is(err, device.ErrInvalid):
		return nil, invalidGrant("the device code is not valid")
	case err != nil:
		return nil, serverError("poll device code", err)
	}
	// Approved: the tenant and the client must still allow the flow.
	pol, err := s.policy(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	if !pol.Flows.DeviceCode {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the device authorization grant is turned off for this tenant")
	}
	jkt, err := p.tokenProof(ctx, t.ID, r.Header, c)
	if err != nil {
		return nil, err
	}
	sub, err := p.loadSubject(ctx, t.ID, d.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("the user can no longer sign in")
	}
	if err != nil {
		return nil, serverError("load user", err)
	}
	now := store.Micro(p.Now())
	scopes := strings.Fields(d.Scope)
	// The grant names no browser session: the device is not where the approver's
	// session is, so "sign out everywhere else" from that session, which keeps the
	// grants authorized in it, must end this one, and the device's ID token carries
	// no sid with which it could end the approver's session. The approving session is
	// in the request row and the audit events.
	//
	// The person approved with a passkey, but nothing binds the device to that person:
	// a phished code ends on the phisher's device. The tokens say so — never
	// phishing-resistant (acr phr), at most multi-factor — so an application that
	// demands phr refuses a device's token; amr still says how the approver signed in.
	g := &store.Grant{ID: secret.ID(), TenantID: t.ID, ClientID: c.ID, UserID: d.UserID,
		Scope: d.Scope, AuthTime: d.AuthTime, ACR: deviceACR(d.ACR), AMR: d.AMR, AuthFlow: device.Flow,
		// The family ends with the policy's device refresh lifetime: every refresh token
		// rotated from it expires by then, however often it is used.
		CreatedAt: now, ExpiresAt: now.Add(min(pol.Device.RefreshLifetime.D(), GrantLifetime))}
	if c.Type == store.ClientPublic {
		g.DPoPJKT = jkt
	}
	withRefresh := containsScope(scopes, "offline_access") && pol.Flows.RefreshToken && client.AllowsGrant(c, client.GrantRefreshToken)
	m, err := p.mintForUser(ctx, t.ID, c, g, sub, scopes, "", jkt, withRefresh)
	if err != nil {
		return nil, err
	}
	used := false
	err = p.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.RedeemDeviceRequest(ctx, t.ID, d.DeviceHash, now); errors.Is(err, store.ErrNotFound) {
			used = true // another poll, on this node or another, redeemed it first
			return nil
		} else if err != nil {
			return err
		}
		if err := storeFamily(ctx, tx, now, g, m); err != nil {
			return err
		}
		meta := clientMeta(ctx, c.ID)
		meta.Flow = device.Flow
		return audit.Record(ctx, tx, now, meta, audit.Entry{Type: audit.DeviceTokenIssued, TenantID: t.ID,
			TargetType: "user", TargetID: g.UserID, Details: map[string]any{"grant": client.GrantDeviceCode,
				"client_id": c.ID, "grant_id": g.ID, "scope": g.Scope, "refresh_token": m.refresh != "",
				"auth_flow": device.Flow, "approved_from": d.DecidedNetwork, "requested_from": d.Network,
				"approver_session": d.SessionID}})
	})
	if err != nil {
		return nil, serverError("record device grant", err)
	}
	if used {
		return nil, invalidGrant("the device code was already used")
	}
	p.Metrics.tokenIssued(client.GrantDeviceCode, c.ID)
	return m.response(), nil
}

// clipText shortens a value echoed in an error description.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// deviceCSRFBypass is the device authorization endpoint's route: devices post to it
// with client credentials, never with cookies.
func deviceCSRFBypass() string { return http.MethodPost + " /t/{tenant}" + pathDeviceAuthorization }

// deviceACR is the assurance a device grant's tokens carry: the approver's, but never
// phishing-resistant, since the device's side of the grant could be a phisher's.
func deviceACR(approver string) string {
	if approver == session.ACRPhishingResistant {
		return session.ACRMultiFactor
	}
	return approver
}
