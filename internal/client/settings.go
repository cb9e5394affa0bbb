package client

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Grant types a client may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// grantOrder is the order grant types are stored and shown in.
var grantOrder = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials, GrantDeviceCode}

// Token endpoint authentication methods.
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
)

// AdminScope lets a client-credentials token use the tenant's admin API.
const AdminScope = "gatehouse:admin"

// Device proximity overrides (empty: follow the tenant's policy).
const (
	ProximityOff     = "off"
	ProximityWarn    = "warn"
	ProximityRequire = "require"
)

// Limits on what one client registers.
const (
	maxNameLen   = 200
	maxURIs      = 50
	maxScopes    = 100
	maxScopeLen  = 128
	maxSecretLen = 512
)

// Settings is everything an operator chooses about a client.
type Settings struct {
	Name string
	Type string // ClientConfidential (default) or ClientPublic
	// AuthMethod defaults to client_secret_basic for confidential clients and none
	// for public ones.
	AuthMethod string
	// JWKS is the client's public keys for private_key_jwt, a JWK Set document.
	JWKS []byte
	// JWKSURI is refused: fetching it would make Gatehouse call out to the network.
	JWKSURI                string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// GrantTypes defaults to authorization_code.
	GrantTypes []string
	// Scopes the client may ask for. Empty means openid, profile and email (and
	// offline_access with refresh_token) for clients that sign people in, none
	// otherwise.
	Scopes                  []string
	FirstParty              bool
	RequirePAR              bool
	DPoPBound               bool
	IDTokenAlg              string // ES256 (default) or RS256
	VerificationURIComplete bool
	DeviceProximity         string // "", off, warn or require
}

// Changes is a partial update: nil fields stay as they are. A client's type cannot
// change; delete it and create another.
type Changes struct {
	Name                    *string
	AuthMethod              *string
	JWKS                    *[]byte
	JWKSURI                 *string
	RedirectURIs            *[]string
	PostLogoutRedirectURIs  *[]string
	GrantTypes              *[]string
	Scopes                  *[]string
	FirstParty              *bool
	RequirePAR              *bool
	DPoPBound               *bool
	IDTokenAlg              *string
	VerificationURIComplete *bool
	DeviceProximity         *string
}

func settingsOf(c *store.Client) Settings {
	return Settings{
		Name: c.Name, Type: c.Type, AuthMethod: c.AuthMethod, JWKS: c.JWKS,
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, Scopes: c.Scopes, FirstParty: c.FirstParty, RequirePAR: c.RequirePAR,
		DPoPBound: c.DPoPBound, IDTokenAlg: c.IDTokenAlg, VerificationURIComplete: c.VerificationURIComplete,
		DeviceProximity: c.DeviceProximity,
	}
}

// apply returns s with ch applied.
func (ch Changes) apply(s Settings) Settings {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setList := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = *v
		}
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.Name, ch.Name)
	set(&s.AuthMethod, ch.AuthMethod)
	set(&s.JWKSURI, ch.JWKSURI)
	set(&s.IDTokenAlg, ch.IDTokenAlg)
	set(&s.DeviceProximity, ch.DeviceProximity)
	setList(&s.RedirectURIs, ch.RedirectURIs)
	setList(&s.PostLogoutRedirectURIs, ch.PostLogoutRedirectURIs)
	setList(&s.GrantTypes, ch.GrantTypes)
	setList(&s.Scopes, ch.Scopes)
	setBool(&s.FirstParty, ch.FirstParty)
	setBool(&s.RequirePAR, ch.RequirePAR)
	setBool(&s.DPoPBound, ch.DPoPBound)
	setBool(&s.VerificationURIComplete, ch.VerificationURIComplete)
	if ch.JWKS != nil {
		s.JWKS = *ch.JWKS
	}
	// Leaving private_key_jwt drops the keys that only it uses.
	if ch.AuthMethod != nil && *ch.AuthMethod != AuthPrivateKeyJWT && ch.JWKS == nil {
		s.JWKS = nil
	}
	return s
}

// uniq drops empty values and repeats, keeping the first occurrence.
func uniq(v []string) []string {
	var out []string
	for _, s := range v {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (s *Settings) has(grant string) bool { return slices.Contains(s.GrantTypes, grant) }

// normalize fills defaults and checks s, returning an error wrapping ErrInvalid that
// says what to fix.
func (s *Settings) normalize() error {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		return fmt.Errorf("%w: a client needs a name", ErrInvalid)
	}
	if !utf8.ValidString(s.Name) || utf8.RuneCountInString(s.Name) > maxNameLen ||
		strings.IndexFunc(s.Name, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: the name must be printable text of at most %d characters", ErrInvalid, maxNameLen)
	}
	if s.JWKSURI != "" {
		return fmt.Errorf("%w: jwks_uri is not supported: Gatehouse does not fetch client keys over the network; "+
			"register the public keys inline as a JWK Set (--jwks-file)", ErrInvalid)
	}
	if err := s.normalizeAuth(); err != nil {
		return err
	}
	if err := s.normalizeGrants(); err != nil {
		return err
	}
	if err := s.normalizeURIs(); err != nil {
		return err
	}
	if err := s.normalizeScopes(); err != nil {
		return err
	}
	if s.IDTokenAlg == "" {
		s.IDTokenAlg = keys.ES256
	}
	if !keys.ValidAlg(s.IDTokenAlg) {
		return fmt.Errorf("%w: id_token_signed_response_alg %q: must be ES256 or RS256", ErrInvalid, s.IDTokenAlg)
	}
	if s.RequirePAR && !s.has(GrantAuthorizationCode) {
		return fmt.Errorf("%w: require_pushed_authorization_requests needs the authorization_code grant", ErrInvalid)
	}
	switch s.DeviceProximity {
	case "", ProximityOff, ProximityWarn, ProximityRequire:
	default:
		return fmt.Errorf("%w: device proximity %q: must be off, warn or require (or empty to follow the tenant)", ErrInvalid, s.DeviceProximity)
	}
	if s.has(GrantDeviceCode) && slices.Contains(s.Scopes, AdminScope) {
		return fmt.Errorf("%w: the device_code grant cannot be combined with scope %s: "+
			"a phished device code must never yield a token that administers the tenant", ErrInvalid, AdminScope)
	}
	if !s.has(GrantDeviceCode) && (s.VerificationURIComplete || s.DeviceProximity != "") {
		return fmt.Errorf("%w: verification_uri_complete and the device proximity override need the device_code grant", ErrInvalid)
	}
	return nil
}

func (s *Settings) normalizeAuth() error {
	if s.Type == "" {
		s.Type = store.ClientConfidential
	}
	switch s.Type {
	case store.ClientPublic:
		if s.AuthMethod == "" {
			s.AuthMethod = AuthNone
		}
		if s.AuthMethod != AuthNone {
			return fmt.Errorf("%w: a public client cannot keep a secret or a key: its auth method must be none "+
				"(it proves itself with PKCE instead)", ErrInvalid)
		}
	case store.ClientConfidential:
		if s.AuthMethod == "" {
			s.AuthMethod = AuthSecretBasic
		}
		switch s.AuthMethod {
		case AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT:
		case AuthNone:
			return fmt.Errorf("%w: a confidential client needs an auth method: client_secret_basic, "+
				"client_secret_post or private_key_jwt (use --type public for apps that cannot keep a secret)", ErrInvalid)
		default:
			return fmt.Errorf("%w: auth method %q: must be client_secret_basic, client_secret_post, private_key_jwt or none", ErrInvalid, s.AuthMethod)
		}
	default:
		return fmt.Errorf("%w: client type %q: must be confidential or public", ErrInvalid, s.Type)
	}
	if s.AuthMethod != AuthPrivateKeyJWT {
		if len(s.JWKS) > 0 {
			return fmt.Errorf("%w: only private_key_jwt clients take a JWKS", ErrInvalid)
		}
		s.JWKS = nil
		return nil
	}
	if len(s.JWKS) == 0 {
		return fmt.Errorf("%w: a private_key_jwt client needs its public keys as a JWK Set (--jwks-file)", ErrInvalid)
	}
	jwks, err := ParseJWKS(s.JWKS)
	if err != nil {
		return err
	}
	s.JWKS = jwks
	return nil
}

func (s *Settings) normalizeGrants() error {
	grants := uniq(s.GrantTypes)
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode}
	}
	for _, g := range grants {
		if !slices.Contains(grantOrder, g) {
			return fmt.Errorf("%w: grant type %q: must be authorization_code, refresh_token, client_credentials or %s",
				ErrInvalid, g, GrantDeviceCode)
		}
	}
	s.GrantTypes = nil
	for _, g := range grantOrder {
		if slices.Contains(grants, g) {
			s.GrantTypes = append(s.GrantTypes, g)
		}
	}
	if s.has(GrantRefreshToken) && !s.has(GrantAuthorizationCode) && !s.has(GrantDeviceCode) {
		return fmt.Errorf("%w: refresh_token needs authorization_code or the device_code grant to obtain a refresh token", ErrInvalid)
	}
	if s.Type == store.ClientPublic && s.has(GrantClientCredentials) {
		return fmt.Errorf("%w: a public client cannot use client_credentials: it has no credentials to authenticate with", ErrInvalid)
	}
	return nil
}

func (s *Settings) normalizeURIs() error {
	s.RedirectURIs, s.PostLogoutRedirectURIs = uniq(s.RedirectURIs), uniq(s.PostLogoutRedirectURIs)
	for _, list := range [][]string{s.RedirectURIs, s.PostLogoutRedirectURIs} {
		if len(list) > maxURIs {
			return fmt.Errorf("%w: at most %d redirect URIs of each kind", ErrInvalid, maxURIs)
		}
		for _, u := range list {
			if err := ValidateRedirectURI(u); err != nil {
				return err
			}
		}
	}
	if s.has(GrantAuthorizationCode) {
		if len(s.RedirectURIs) == 0 {
			return fmt.Errorf("%w: the authorization_code grant needs at least one redirect URI", ErrInvalid)
		}
		return nil
	}
	if len(s.RedirectURIs) > 0 || len(s.PostLogoutRedirectURIs) > 0 {
		return fmt.Errorf("%w: redirect URIs are only used by the authorization_code grant", ErrInvalid)
	}
	return nil
}

func (s *Settings) normalizeScopes() error {
	s.Scopes = uniq(s.Scopes)
	if len(s.Scopes) == 0 && (s.has(GrantAuthorizationCode) || s.has(GrantDeviceCode)) {
		s.Scopes = []string{"openid", "profile", "email"}
		if s.has(GrantRefreshToken) {
			s.Scopes = append(s.Scopes, "offline_access")
		}
	}
	if len(s.Scopes) > maxScopes {
		return fmt.Errorf("%w: at most %d scopes", ErrInvalid, maxScopes)
	}
	for _, sc := range s.Scopes {
		if !validScope(sc) {
			return fmt.Errorf("%w: scope %q: at most %d printable ASCII characters, without spaces, quotes or backslashes",
				ErrInvalid, sc, maxScopeLen)
		}
	}
	return nil
}

// validScope checks RFC 6749 §3.3's scope-token: %x21 / %x23-5B / %x5D-7E.
func validScope(s string) bool {
	if s == "" || len(s) > maxScopeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// flowOn maps each grant type to the tenant policy switch that must also allow it.
func flowOn(p tenant.Policy, grant string) bool {
	switch grant {
	case GrantAuthorizationCode:
		return p.Flows.AuthorizationCode
	case GrantRefreshToken:
		return p.Flows.RefreshToken
	case GrantClientCredentials:
		return p.Flows.ClientCredentials
	case GrantDeviceCode:
		return p.Flows.DeviceCode
	}
	return false
}

// DeviceCodeWarning is shown whenever a client gains the device_code grant.
const DeviceCodeWarning = "the device_code grant enables device-code phishing: an attacker starts a device " +
	"authorization for this client and lures a user into entering the code and approving it, then receives " +
	"the tokens. Allow it only for clients on devices without a browser, keep their scopes small, and keep " +
	"the tenant's device proximity check on."

// review returns the warnings an operator should read about s, given the client's
// previous settings (nil for a new client), and whether the change raises the risk
// enough to be audited at medium severity.
func review(s Settings, prev *Settings, p tenant.Policy) (warnings []string, risky bool) {
	gained := func(grant string) bool { return s.has(grant) && (prev == nil || !prev.has(grant)) }
	if gained(GrantDeviceCode) {
		warnings = append(warnings, DeviceCodeWarning)
		risky = true
	}
	if slices.Contains(s.Scopes, AdminScope) && (prev == nil || !slices.Contains(prev.Scopes, AdminScope)) {
		warnings = append(warnings, "scope "+AdminScope+" lets this client administer the tenant through the admin API")
		risky = true
	}
	if s.DeviceProximity == ProximityOff && (prev == nil || prev.DeviceProximity != ProximityOff) {
		warnings = append(warnings, "the device proximity check is off for this client: approvals from another "+
			"network than the requesting device are neither refused nor flagged")
		risky = true
	}
	if s.has(GrantDeviceCode) {
		// offline_access only asks for a refresh token, whose device-flow lifetime the
		// tenant policy sets separately.
		var above []string
		for _, sc := range s.Scopes {
			if sc != "offline_access" && !slices.Contains(p.Device.ScopeCeiling, sc) {
				above = append(above, sc)
			}
		}
		if len(above) > 0 {
			warnings = append(warnings, fmt.Sprintf("scopes %s are above the tenant's device-flow scope ceiling (%s): "+
				"device-flow tokens will not carry them", strings.Join(above, " "), strings.Join(p.Device.ScopeCeiling, " ")))
		}
	}
	for _, g := range s.GrantTypes {
		if !flowOn(p, g) {
			if g == GrantDeviceCode {
				g = "device_code"
			}
			warnings = append(warnings, fmt.Sprintf("the tenant's policy has the %s flow turned off: "+
				"this client cannot use it until the policy allows it", g))
		}
	}
	return warnings, risky
}
