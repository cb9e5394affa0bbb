package oauth

import (
	"context"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

// Discovery is the OpenID Provider metadata of one tenant (OpenID Connect Discovery
// 1.0 §3, RFC 8414 §2). It lists what the provider does and nothing else.
type Discovery struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	PushedAuthorizationRequestEndpoint         string   `json:"pushed_authorization_request_endpoint"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint,omitempty"` // RFC 8628 §4: only while the tenant has the device flow on
	RequirePushedAuthorizationRequests         bool     `json:"require_pushed_authorization_requests"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	DPoPSigningAlgValuesSupported              []string `json:"dpop_signing_alg_values_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// supportedScopes are the scopes every tenant knows; clients may be allowed others.
var supportedScopes = []string{"openid", "profile", "email", "offline_access"}

// Discovery returns the metadata of the tenant.
func (p *Provider) Discovery(tenantID string) Discovery {
	iss := p.Issuer(tenantID)
	secretAuth := []string{client.AuthSecretBasic, client.AuthSecretPost, client.AuthPrivateKeyJWT}
	anyAuth := []string{client.AuthSecretBasic, client.AuthSecretPost, client.AuthPrivateKeyJWT, client.AuthNone}
	return Discovery{
		Issuer:                                     iss,
		AuthorizationEndpoint:                      iss + pathAuthorize,
		TokenEndpoint:                              iss + pathToken,
		UserinfoEndpoint:                           iss + pathUserinfo,
		JWKSURI:                                    iss + pathJWKS,
		EndSessionEndpoint:                         iss + pathLogout,
		RevocationEndpoint:                         iss + pathRevoke,
		IntrospectionEndpoint:                      iss + pathIntrospect,
		PushedAuthorizationRequestEndpoint:         iss + pathPAR,
		ScopesSupported:                            supportedScopes,
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query", "form_post"},
		GrantTypesSupported:                        []string{client.GrantAuthorizationCode, client.GrantRefreshToken, client.GrantClientCredentials},
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           keys.Algorithms(),
		TokenEndpointAuthMethodsSupported:          anyAuth,
		TokenEndpointAuthSigningAlgValuesSupported: []string{keys.ES256, keys.RS256},
		RevocationEndpointAuthMethodsSupported:     anyAuth,
		IntrospectionEndpointAuthMethodsSupported:  secretAuth,
		CodeChallengeMethodsSupported:              []string{"S256"},
		DPoPSigningAlgValuesSupported:              dpopAlgNames(),
		ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
			"name", "email", "email_verified"},
		ACRValuesSupported:                         []string{session.ACRPhishingResistant, session.ACRMultiFactor, session.ACRSingleFactor},
		AuthorizationResponseISSParameterSupported: true,
	}
}

func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	d := s.p.Discovery(t.ID)
	pol, err := s.policy(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	if pol.Flows.DeviceCode && s.p.Device != nil {
		d.DeviceAuthorizationEndpoint = d.Issuer + pathDeviceAuthorization
		d.GrantTypesSupported = append(d.GrantTypesSupported, client.GrantDeviceCode)
	}
	return op.NewResponse(d), nil
}

func (s *server) Keys(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	t, err := s.tenant(ctx)
	if err != nil {
		return nil, err
	}
	set, err := s.p.Keys.JWKS(ctx, t.ID)
	if err != nil {
		return nil, serverError("load signing keys", err)
	}
	return op.NewResponse(set), nil
}
