package client

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// View is the JSON form of a client that the command line (--json) and the admin API
// both show, with RFC 7591 field names where one exists. It never holds the secret's
// hash; Secret is set only by the change that created a secret, the only time anyone
// sees it.
type View struct {
	ClientID                string    `json:"client_id"`
	Tenant                  string    `json:"tenant"`
	Name                    string    `json:"client_name"`
	Type                    string    `json:"client_type"`
	AuthMethod              string    `json:"token_endpoint_auth_method"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	Scopes                  []string  `json:"scopes"`
	FirstParty              bool      `json:"first_party"`
	RequirePAR              bool      `json:"require_pushed_authorization_requests"`
	DPoPBound               bool      `json:"dpop_bound_access_tokens"`
	IDTokenAlg              string    `json:"id_token_signed_response_alg"`
	VerificationURIComplete bool      `json:"verification_uri_complete"`
	DeviceProximity         string    `json:"device_proximity,omitempty"`
	JWKS                    RawJSON   `json:"jwks,omitempty"`
	HasSecret               bool      `json:"has_secret"`
	SecretRotatedAt         time.Time `json:"secret_rotated_at,omitzero"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
	Secret                  string    `json:"client_secret,omitempty"`
	Warnings                []string  `json:"warnings,omitempty"`
}

// RawJSON embeds a stored JSON document (a client's JWK Set) as it is.
type RawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r RawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// NewView returns the view of c. Lists are never null, so scripts can iterate them.
func NewView(c *store.Client) View {
	return View{
		ClientID: c.ID, Tenant: c.TenantID, Name: c.Name, Type: c.Type, AuthMethod: c.AuthMethod,
		RedirectURIs: orEmpty(c.RedirectURIs), PostLogoutRedirectURIs: orEmpty(c.PostLogoutRedirectURIs),
		GrantTypes: orEmpty(c.GrantTypes), Scopes: orEmpty(c.Scopes), FirstParty: c.FirstParty,
		RequirePAR: c.RequirePAR, DPoPBound: c.DPoPBound, IDTokenAlg: c.IDTokenAlg,
		VerificationURIComplete: c.VerificationURIComplete, DeviceProximity: c.DeviceProximity,
		JWKS: RawJSON(c.JWKS), HasSecret: c.SecretHash != "", SecretRotatedAt: c.SecretRotatedAt,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// ResultView is the view of a client after a change, with the secret the change
// created (if any) and its warnings.
func ResultView(res *Result) View {
	v := NewView(res.Client)
	v.Secret, v.Warnings = res.Secret, res.Warnings
	return v
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
