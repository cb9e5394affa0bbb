// Package passkey runs WebAuthn ceremonies for Gatehouse: registering passkeys,
// signing in with them (usernameless and autofill), stepping up an existing session,
// and managing a user's passkeys. Ceremony state is kept in the store as a single-use
// artifact keyed by the challenge's hash, so a ceremony begun on one node can finish
// on another.
package passkey

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// CeremonyTTL bounds every ceremony: the challenge expires, and the browser is told
// the same timeout.
const CeremonyTTL = 5 * time.Minute

// relyingParty builds the WebAuthn configuration of one tenant: rpId and origins
// from the base URL unless the tenant's policy overrides them, user verification
// required, resident keys required, attestation "none" unless the policy asks for
// "direct" (with an AAGUID allow-list).
func relyingParty(baseURL string, t *store.Tenant, p tenant.Policy) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is not usable as a WebAuthn origin", baseURL)
	}
	rpID := p.Passkeys.RPID
	if rpID == "" {
		rpID = u.Hostname()
	}
	origins := p.Passkeys.Origins
	if len(origins) == 0 {
		origins = []string{u.Scheme + "://" + u.Host}
	}
	attestation := protocol.PreferNoAttestation
	if p.Passkeys.Attestation == "direct" {
		attestation = protocol.PreferDirectAttestation
	}
	cfg := &webauthn.Config{
		RPID:                  rpID,
		RPDisplayName:         t.DisplayName,
		RPOrigins:             origins,
		AttestationPreference: attestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTTL, TimeoutUVD: CeremonyTTL},
		},
	}
	return webauthn.New(cfg)
}

// aaguidAllowed applies the tenant's AAGUID allow-list (empty: any authenticator).
// The list compares hex without dashes, case-insensitively; a zero AAGUID is never
// on a list, so an allow-list also refuses authenticators that hide their model.
func aaguidAllowed(p tenant.Policy, aaguid string) bool {
	if len(p.Passkeys.AAGUIDAllowList) == 0 {
		return true
	}
	for _, a := range p.Passkeys.AAGUIDAllowList {
		if strings.EqualFold(strings.ReplaceAll(a, "-", ""), aaguid) {
			return true
		}
	}
	return false
}

// reason extracts the library's precise reason from a WebAuthn error for logs and
// audit details; it is never shown to the client.
func reason(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if pe.DevInfo != "" && pe.DevInfo != pe.Details {
			return pe.Type + ": " + pe.Details + ": " + pe.DevInfo
		}
		return pe.Type + ": " + pe.Details
	}
	return err.Error()
}
