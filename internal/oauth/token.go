package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// minted is one token response before it is recorded.
type minted struct {
	access, id, refresh string
	scopes              []string
	jkt                 string // DPoP key the access token is bound to
}

func (m *minted) response() *op.Response {
	tokenType := oidc.BearerToken
	if m.jkt != "" {
		tokenType = tokenTypeDPoP
	}
	resp := op.NewResponse(&oidc.AccessTokenResponse{AccessToken: m.access, TokenType: tokenType,
		RefreshToken: m.refresh, ExpiresIn: uint64(AccessTokenLifetime / time.Second), IDToken: m.id, Scope: m.scopes})
	// RFC 6749 §5.1: token responses must not be cached.
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("Pragma", "no-cache")
	return resp
}

// subject is what tokens say about a user.
type subject struct {
	ID, Name, Email string
	EmailVerified   bool
}

func (p *Provider) loadSubject(ctx context.Context, tenantID, userID string) (*subject, error) {
	var out *subject
	err := p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		out, err = subjectIn(ctx, tx, tenantID, userID)
		return err
	})
	return out, err
}

// subjectIn reads what tokens say about an active user inside tx; store.ErrNotFound
// when the user is gone or may no longer sign in.
func subjectIn(ctx context.Context, tx store.Tx, tenantID, userID string) (*subject, error) {
	u, err := tx.GetUser(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	if u.Status != store.UserActive {
		return nil, store.ErrNotFound
	}
	ids, err := tx.ListIdentifiers(ctx, tenantID, userID)
	if err != nil {
		return nil, err
	}
	out := &subject{ID: u.ID, Name: u.DisplayName}
	for _, id := range ids {
		if id.Kind == store.IdentEmail && (id.Primary || out.Email == "") {
			out.Email, out.EmailVerified = id.Value, id.Verified
		}
	}
	return out, nil
}

// mintForUser signs the access token, the ID token when openid was granted, and makes
// a refresh token when withRefresh.
func (p *Provider) mintForUser(ctx context.Context, tenantID string, c *store.Client, g *store.Grant, sub *subject,
	scopes []string, nonce, jkt string, withRefresh bool) (*minted, error) {
	ks, err := p.Keys.List(ctx, tenantID)
	if err != nil {
		return nil, serverError("load signing keys", err)
	}
	return p.mintWith(&tenantState{tenantID: tenantID, keys: ks}, c, g, sub, scopes, nonce, jkt, withRefresh)
}

// mintWith is mintForUser with the tenant's keys in hand.
func (p *Provider) mintWith(st *tenantState, c *store.Client, g *store.Grant, sub *subject,
	scopes []string, nonce, jkt string, withRefresh bool) (*minted, error) {
	now := p.Now()
	iss := p.Issuer(st.tenantID)
	m := &minted{scopes: scopes, jkt: jkt}
	var err error
	m.access, err = p.signWith(st, keys.ES256, typAccessToken, accessClaims{
		Issuer: iss, Subject: sub.ID, Audience: []string{iss}, Expiry: numeric(now.Add(AccessTokenLifetime)),
		IssuedAt: numeric(now), ID: jtiFor(g.ID), ClientID: c.ID, Scope: strings.Join(scopes, " "),
		AuthTime: numeric(g.AuthTime), ACR: g.ACR, AMR: g.AMR, Cnf: cnfOf(jkt), AuthFlow: g.AuthFlow,
	})
	if err != nil {
		return nil, serverError("sign access token", err)
	}
	if containsScope(scopes, "openid") {
		ic := idClaims{Issuer: iss, Subject: sub.ID, Audience: []string{c.ID}, Expiry: numeric(now.Add(IDTokenLifetime)),
			IssuedAt: numeric(now), AuthTime: numeric(g.AuthTime), Nonce: nonce, ACR: g.ACR, AMR: g.AMR,
			SessionID: g.SessionID, AZP: c.ID, AuthFlow: g.AuthFlow}
		if containsScope(scopes, "profile") {
			ic.Name = sub.Name
		}
		if containsScope(scopes, "email") && sub.Email != "" {
			ic.Email, ic.EmailVerified = sub.Email, &sub.EmailVerified
		}
		m.id, err = p.signWith(st, c.IDTokenAlg, typIDToken, ic)
		if err != nil {
			return nil, serverError("sign ID token", err)
		}
	}
	if withRefresh {
		m.refresh = secret.Token(32)
	}
	return m, nil
}

func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, v := s.p, r.Client.(*clientView)
	c := v.c
	if on, err := s.flowAllowed(ctx, t.ID, codeFlowOn); err != nil || !on {
		if err == nil {
			err = codeFlowOff()
		}
		return nil, err
	}
	jkt, err := p.tokenDPoP(ctx, t.ID, r.Header)
	if err != nil {
		return nil, err
	}
	if len(r.Data.Code) > 512 || len(r.Data.CodeVerifier) > 128 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code or code_verifier is too long")
	}
	codeHash := secret.Hash(r.Data.Code)
	var a *store.Artifact
	err = p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		a, err = tx.PeekArtifact(ctx, kindCode, codeHash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && a.TenantID != t.ID) {
		return nil, invalidGrant("the authorization code is not valid")
	}
	if err != nil {
		return nil, serverError("load code", err)
	}
	if !a.RedeemedAt.IsZero() {
		if err := s.confirmClient(ctx, t.ID, v, client.GrantAuthorizationCode); err != nil {
			return nil, err
		}
		p.codeReused(ctx, t.ID, codeHash, c.ID)
		return nil, invalidGrant("the authorization code was already used")
	}
	if !p.Now().Before(a.ExpiresAt) {
		return nil, invalidGrant("the authorization code has expired")
	}
	var gr granted
	if err := json.Unmarshal(a.Data, &gr); err != nil {
		return nil, serverError("decode code", err)
	}
	switch {
	case gr.ClientID != c.ID:
		return nil, invalidGrant("the authorization code was issued to another client")
	case gr.RedirectURI != r.Data.RedirectURI:
		return nil, invalidGrant("redirect_uri does not match the authorization request")
	}
	if err := checkVerifier(gr.CodeChallenge, r.Data.CodeVerifier); err != nil {
		return nil, err
	}
	sub, err := p.loadSubject(ctx, t.ID, gr.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("the user can no longer sign in")
	}
	if err != nil {
		return nil, serverError("load user", err)
	}
	now := store.Micro(p.Now())
	var m *minted
	var g *store.Grant
	reused := false
	err = s.issue(ctx, t.ID, v, client.GrantAuthorizationCode, "record grant", func(c *store.Client, st *tenantState) (func(store.Tx) error, error) {
		if !codeFlowOn(st.policy) {
			return nil, codeFlowOff()
		}
		if err := proofRequired(c, jkt); err != nil {
			return nil, err
		}
		g = &store.Grant{ID: secret.ID(), TenantID: t.ID, ClientID: c.ID, UserID: gr.UserID, SessionID: gr.SessionID,
			Scope: strings.Join(gr.Scopes, " "), AuthTime: gr.AuthTime, ACR: gr.ACR, AMR: gr.AMR, CodeHash: codeHash,
			CreatedAt: now, ExpiresAt: now.Add(GrantLifetime)}
		if c.Type == store.ClientPublic {
			// A public client's refresh tokens are bound to its DPoP key: nothing else
			// proves who presents them (RFC 9449 §5).
			g.DPoPJKT = jkt
		}
		withRefresh := containsScope(gr.Scopes, "offline_access") && st.policy.Flows.RefreshToken && client.AllowsGrant(c, client.GrantRefreshToken)
		var err error
		if m, err = p.mintWith(st, c, g, sub, gr.Scopes, gr.Nonce, jkt, withRefresh); err != nil {
			return nil, err
		}
		return func(tx store.Tx) error { reused = false; return p.recordCode(ctx, tx, now, c, g, m, codeHash, &reused) }, nil
	})
	if err != nil {
		return nil, err
	}
	if reused {
		p.codeReused(ctx, t.ID, codeHash, c.ID)
		return nil, invalidGrant("the authorization code was already used")
	}
	p.Metrics.tokenIssued(client.GrantAuthorizationCode, c.ID)
	return m.response(), nil
}

// codeFlowOn reports whether the tenant allows the authorization code flow.
func codeFlowOn(pol tenant.Policy) bool { return pol.Flows.AuthorizationCode }

func codeFlowOff() error {
	return oidc.ErrUnsupportedGrantType().WithDescription("the authorization code flow is turned off for this tenant")
}

// recordCode redeems the code and records the grant, its first refresh token and
// the issuance. When another request redeemed the code first it sets *reused and
// writes nothing.
func (p *Provider) recordCode(ctx context.Context, tx store.Tx, now time.Time, c *store.Client, g *store.Grant, m *minted,
	codeHash string, reused *bool) error {
	if _, err := tx.RedeemArtifact(ctx, kindCode, codeHash, now); errors.Is(err, store.ErrNotFound) {
		*reused = true // another request redeemed it between our look and now
		return nil
	} else if err != nil {
		return err
	}
	if err := storeFamily(ctx, tx, now, g, m); err != nil {
		return err
	}
	return audit.Record(ctx, tx, now, clientMeta(ctx, c.ID), audit.Entry{Type: audit.OAuthTokenIssued, TenantID: g.TenantID,
		TargetType: "user", TargetID: g.UserID, Details: map[string]any{"grant": client.GrantAuthorizationCode,
			"client_id": c.ID, "grant_id": g.ID, "scope": g.Scope, "refresh_token": m.refresh != ""}})
}

// checkVerifier compares the PKCE code_verifier with the stored S256 challenge
// (RFC 7636 §4.6). A verifier sent for a code without challenge is refused too, so
// a downgrade shows (RFC 9700 §4.8.2).
func checkVerifier(challenge, verifier string) error {
	if challenge == "" {
		if verifier != "" {
			return invalidGrant("code_verifier sent for a request without code_challenge")
		}
		return nil
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return invalidGrant("code_verifier is missing or has the wrong length")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return invalidGrant("code_verifier does not match code_challenge")
	}
	return nil
}

// codeReused revokes the tokens issued from a code presented a second time: one of
// the two presenters is not who the code was meant for (RFC 6749 §4.1.2).
func (p *Provider) codeReused(ctx context.Context, tenantID, codeHash, clientID string) {
	err := p.Store.InTx(ctx, func(tx store.Tx) error {
		details := map[string]any{"client_id": clientID}
		g, err := tx.GetGrantByCode(ctx, tenantID, codeHash)
		switch {
		case err == nil:
			details["grant_id"] = g.ID
			if err := tx.RevokeGrant(ctx, tenantID, g.ID, p.Now(), "authorization code reused"); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return audit.Record(ctx, tx, p.Now(), clientMeta(ctx, clientID), audit.Entry{Type: audit.OAuthCodeReused, TenantID: tenantID,
			TargetType: "client", TargetID: clientID, Result: audit.Denied, Severity: audit.High, Details: details})
	})
	if err != nil && p.Logger != nil {
		p.Logger.ErrorContext(ctx, "revoke tokens of a reused code", "error", err)
	}
}

func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, v := s.p, r.Client.(*clientView)
	c := v.c
	if on, err := s.flowAllowed(ctx, t.ID, refreshFlowOn); err != nil || !on {
		if err == nil {
			err = refreshFlowOff()
		}
		return nil, err
	}
	jkt, err := p.tokenDPoP(ctx, t.ID, r.Header)
	if err != nil {
		return nil, err
	}
	if len(r.Data.RefreshToken) > 512 {
		return nil, invalidGrant("the refresh token is not valid")
	}
	hash := secret.Hash(r.Data.RefreshToken)
	var rt *store.RefreshToken
	var g *store.Grant
	var sub *subject
	var subErr error
	err = p.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if rt, err = tx.GetRefreshToken(ctx, t.ID, hash); err != nil {
			return err
		}
		if g, err = tx.GetGrant(ctx, t.ID, rt.GrantID); err != nil {
			return err
		}
		// Read with the token, in one transaction; used only once the token passed.
		sub, subErr = subjectIn(ctx, tx, t.ID, g.UserID)
		if subErr != nil && !errors.Is(subErr, store.ErrNotFound) {
			return subErr
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidGrant("the refresh token is not valid")
	}
	if err != nil {
		return nil, serverError("load refresh token", err)
	}
	now := store.Micro(p.Now())
	switch {
	case g.ClientID != c.ID:
		return nil, invalidGrant("the refresh token was issued to another client")
	case !rt.UsedAt.IsZero():
		if err := s.confirmClient(ctx, t.ID, v, client.GrantRefreshToken); err != nil {
			return nil, err
		}
		p.refreshReused(ctx, t.ID, g, rt)
		return nil, invalidGrant("the refresh token was already used")
	case !g.RevokedAt.IsZero():
		return nil, invalidGrant("the refresh token was revoked")
	case g.DPoPJKT != "" && jkt != g.DPoPJKT:
		return nil, invalidProof("the refresh token is bound to another DPoP key")
	case !now.Before(rt.ExpiresAt) || !now.Before(g.ExpiresAt):
		return nil, invalidGrant("the refresh token has expired")
	}
	granted := strings.Fields(g.Scope)
	scopes := granted
	if len(r.Data.Scopes) > 0 {
		scopes = nil
		for _, sc := range r.Data.Scopes {
			if !containsScope(granted, sc) {
				return nil, oidc.ErrInvalidScope().WithDescription("a refresh may not widen the granted scope")
			}
			if !containsScope(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	if subErr != nil {
		return nil, invalidGrant("the user can no longer sign in")
	}
	// The refresh token's scope stays the grant's: narrowing applies to this response.
	var m *minted
	reused, revoked := false, false
	err = s.issue(ctx, t.ID, v, client.GrantRefreshToken, "rotate refresh token", func(c *store.Client, st *tenantState) (func(store.Tx) error, error) {
		if !refreshFlowOn(st.policy) {
			return nil, refreshFlowOff()
		}
		if err := proofRequired(c, jkt); err != nil {
			return nil, err
		}
		var err error
		if m, err = p.mintWith(st, c, g, sub, scopes, "", jkt, true); err != nil {
			return nil, err
		}
		return func(tx store.Tx) error {
			reused, revoked = false, false
			return p.recordRefresh(ctx, tx, now, c, g, rt, m, &reused, &revoked)
		}, nil
	})
	switch {
	case err != nil:
		return nil, err
	case reused:
		return nil, invalidGrant("the refresh token was already used")
	case revoked:
		return nil, invalidGrant("the refresh token was revoked")
	}
	p.Metrics.tokenIssued(client.GrantRefreshToken, c.ID)
	return m.response(), nil
}

// refreshFlowOn reports whether the tenant allows refresh tokens.
func refreshFlowOn(pol tenant.Policy) bool { return pol.Flows.RefreshToken }

func refreshFlowOff() error {
	return oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are turned off for this tenant")
}

// recordRefresh spends the presented refresh token and stores its successor. When
// the token was spent meanwhile it revokes the family and sets *reused; when the
// grant was revoked meanwhile it sets *revoked and writes nothing.
func (p *Provider) recordRefresh(ctx context.Context, tx store.Tx, now time.Time, c *store.Client, g *store.Grant,
	rt *store.RefreshToken, m *minted, reused, revoked *bool) error {
	if err := tx.UseRefreshToken(ctx, g.TenantID, rt.Hash, now); errors.Is(err, store.ErrNotFound) {
		*reused = true
		return revokeForReuse(ctx, tx, now, g, rt)
	} else if err != nil {
		return err
	}
	cur, err := tx.GetGrant(ctx, g.TenantID, g.ID)
	if err != nil {
		return err
	}
	if !cur.RevokedAt.IsZero() {
		*revoked = true
		return nil
	}
	if err := tx.PutRefreshToken(ctx, &store.RefreshToken{Hash: secret.Hash(m.refresh), TenantID: g.TenantID, GrantID: g.ID,
		Generation: rt.Generation + 1, CreatedAt: now, ExpiresAt: minTime(now.Add(RefreshTokenLifetime), g.ExpiresAt)}); err != nil {
		return err
	}
	return audit.Record(ctx, tx, now, clientMeta(ctx, c.ID), audit.Entry{Type: audit.OAuthTokenRefreshed, TenantID: g.TenantID,
		TargetType: "user", TargetID: g.UserID, Details: map[string]any{"grant": client.GrantRefreshToken,
			"client_id": c.ID, "grant_id": g.ID, "generation": rt.Generation + 1}})
}

// refreshReused revokes the whole family of a refresh token presented after it was
// rotated: either the client or an attacker holds a stolen copy, and the server cannot
// tell which (RFC 9700 §4.14.2).
func (p *Provider) refreshReused(ctx context.Context, tenantID string, g *store.Grant, rt *store.RefreshToken) {
	err := p.Store.InTx(ctx, func(tx store.Tx) error { return revokeForReuse(ctx, tx, store.Micro(p.Now()), g, rt) })
	if err != nil && p.Logger != nil {
		p.Logger.ErrorContext(ctx, "revoke family of a reused refresh token", "error", err)
	}
}

func revokeForReuse(ctx context.Context, tx store.Tx, now time.Time, g *store.Grant, rt *store.RefreshToken) error {
	if err := tx.RevokeGrant(ctx, g.TenantID, g.ID, now, "refresh token reused"); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return audit.Record(ctx, tx, now, clientMeta(ctx, g.ClientID), audit.Entry{Type: audit.OAuthRefreshReused, TenantID: g.TenantID,
		TargetType: "user", TargetID: g.UserID, Result: audit.Denied, Severity: audit.High,
		Details: map[string]any{"client_id": g.ClientID, "grant_id": g.ID, "generation": rt.Generation}})
}

func (s *server) ClientCredentialsExchange(ctx context.Context, r *op.ClientRequest[oidc.ClientCredentialsRequest]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	p, v := s.p, r.Client.(*clientView)
	if on, err := s.flowAllowed(ctx, t.ID, clientCredentialsOn); err != nil || !on {
		if err == nil {
			err = clientCredentialsOff()
		}
		return nil, err
	}
	jkt, err := p.tokenDPoP(ctx, t.ID, r.Header)
	if err != nil {
		return nil, err
	}
	var m *minted
	err = s.issue(ctx, t.ID, v, client.GrantClientCredentials, "audit token", func(c *store.Client, st *tenantState) (func(store.Tx) error, error) {
		if !clientCredentialsOn(st.policy) {
			return nil, clientCredentialsOff()
		}
		if err := proofRequired(c, jkt); err != nil {
			return nil, err
		}
		scopes, err := clientScopes(c, r.Data.Scope)
		if err != nil {
			return nil, err
		}
		now := store.Micro(p.Now())
		iss := p.Issuer(t.ID)
		access, err := p.signWith(st, keys.ES256, typAccessToken, accessClaims{
			Issuer: iss, Subject: c.ID, Audience: []string{iss}, Expiry: numeric(now.Add(AccessTokenLifetime)),
			IssuedAt: numeric(now), ID: jtiFor(""), ClientID: c.ID, Scope: strings.Join(scopes, " "), Cnf: cnfOf(jkt),
		})
		if err != nil {
			return nil, serverError("sign access token", err)
		}
		m = &minted{access: access, scopes: scopes, jkt: jkt}
		return func(tx store.Tx) error {
			return audit.Record(ctx, tx, now, clientMeta(ctx, c.ID), audit.Entry{Type: audit.OAuthTokenIssued, TenantID: t.ID,
				TargetType: "client", TargetID: c.ID, Details: map[string]any{"grant": client.GrantClientCredentials,
					"client_id": c.ID, "scope": strings.Join(scopes, " ")}})
		}, nil
	})
	if err != nil {
		return nil, err
	}
	p.Metrics.tokenIssued(client.GrantClientCredentials, v.c.ID)
	return m.response(), nil
}

// clientCredentialsOn reports whether the tenant allows the client credentials grant.
func clientCredentialsOn(pol tenant.Policy) bool { return pol.Flows.ClientCredentials }

func clientCredentialsOff() error {
	return oidc.ErrUnsupportedGrantType().WithDescription("the client credentials grant is turned off for this tenant")
}

// clientScopes returns the scopes a client_credentials token gets: those asked for,
// each registered for the client and none that needs a user; or, when none was asked
// for, every such scope the client has.
func clientScopes(c *store.Client, asked []string) ([]string, error) {
	var scopes []string
	for _, sc := range asked {
		if userScope(sc) || !containsScope(c.Scopes, sc) {
			return nil, oidc.ErrInvalidScope().WithDescription("scope %q is not allowed for this client", sc)
		}
		if !containsScope(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(asked) == 0 {
		for _, sc := range c.Scopes {
			if !userScope(sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	return scopes, nil
}

// userScope reports whether a scope only makes sense with a signed-in user.
func userScope(sc string) bool {
	return sc == "openid" || sc == "profile" || sc == "email" || sc == "offline_access"
}

func cnfOf(jkt string) *confirmation {
	if jkt == "" {
		return nil
	}
	return &confirmation{JKT: jkt}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// storeFamily stores a new token family and, when the tokens include one, its first
// refresh token, which never outlives the family.
func storeFamily(ctx context.Context, tx store.Tx, now time.Time, g *store.Grant, m *minted) error {
	if err := tx.CreateGrant(ctx, g); err != nil {
		return err
	}
	if m.refresh == "" {
		return nil
	}
	return tx.PutRefreshToken(ctx, &store.RefreshToken{Hash: secret.Hash(m.refresh), TenantID: g.TenantID, GrantID: g.ID,
		Generation: 1, CreatedAt: now, ExpiresAt: minTime(now.Add(RefreshTokenLifetime), g.ExpiresAt)})
}
