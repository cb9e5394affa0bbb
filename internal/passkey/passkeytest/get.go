package passkeytest

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// GetOptions are the inputs to navigator.credentials.get(), plus knobs that forge the response.
type GetOptions struct {
	// RPID is the relying party ID; empty means the origin's host, as in a browser.
	RPID string
	// Origin is the page origin the browser is on. Required.
	Origin string
	// Challenge is the raw (decoded) challenge from the server. Required.
	Challenge []byte
	// AllowCredentials restricts which credentials may answer; empty means a discoverable (usernameless) login.
	AllowCredentials [][]byte
	// CredentialID picks one stored credential, like a user choosing an account; nil means the most recent for the rpId.
	CredentialID []byte

	// OriginOverride, when set, is written to clientDataJSON instead of Origin.
	OriginOverride string
	// RPIDHashOverride, when non-nil, replaces SHA-256(RPID) in the authenticator data.
	RPIDHashOverride []byte
	// ClientDataType, when set, replaces "webauthn.get" in clientDataJSON.
	ClientDataType string
	// CrossOrigin reports the call as made from a cross-origin iframe.
	CrossOrigin bool
	// TopOrigin is the top-level origin reported for cross-origin calls.
	TopOrigin string
	// NoUserVerification clears the UV flag for this ceremony only.
	NoUserVerification bool
	// SignCount, when non-nil, is sent instead of the next counter value and the stored counter is left as it is.
	// Use it to present a counter that went backwards, as a cloned authenticator would.
	SignCount *uint32
}

// AssertionResponse is an authentication PublicKeyCredential as serialised by toJSON().
// Its fields are exported so tests can tamper with a response after it is made.
type AssertionResponse struct {
	ID                      string                         `json:"id"`
	RawID                   Base64URL                      `json:"rawId"`
	Type                    string                         `json:"type"`
	Response                AuthenticatorAssertionResponse `json:"response"`
	ClientExtensionResults  map[string]any                 `json:"clientExtensionResults"`
	AuthenticatorAttachment string                         `json:"authenticatorAttachment"`
}

// AuthenticatorAssertionResponse is the "response" member of an authentication toJSON().
type AuthenticatorAssertionResponse struct {
	ClientDataJSON    Base64URL `json:"clientDataJSON"`
	AuthenticatorData Base64URL `json:"authenticatorData"`
	Signature         Base64URL `json:"signature"`
	// UserHandle is omitted when the credential has none, as toJSON() does.
	UserHandle Base64URL `json:"userHandle,omitempty"`
}

// Get signs an assertion with a stored credential and advances its signature counter by one.
// It returns ErrNoCredential when no credential for the rpId matches, and ErrInvalidOptions or
// ErrRPIDMismatch when a browser would refuse the call.
func (a *Authenticator) Get(opts GetOptions) (*AssertionResponse, error) {
	if len(opts.Challenge) == 0 {
		return nil, fmt.Errorf("%w: challenge is required", ErrInvalidOptions)
	}
	rpID, err := resolveRPID(opts.RPID, opts.Origin)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	cred, err := a.findCredential(rpID, opts.AllowCredentials, opts.CredentialID)
	if err != nil {
		a.mu.Unlock()
		return nil, err
	}
	var count uint32
	if opts.SignCount != nil {
		count = *opts.SignCount
	} else {
		cred.SignCount++
		count = cred.SignCount
	}
	flags := a.flags(opts.NoUserVerification)
	snapshot := cred.clone()
	a.mu.Unlock()

	authData := authenticatorData(rpIDHash(rpID, opts.RPIDHashOverride), flags, count, nil)
	cd, err := clientData{
		typ:         cmp.Or(opts.ClientDataType, clientDataGet),
		challenge:   opts.Challenge,
		origin:      cmp.Or(opts.OriginOverride, opts.Origin),
		crossOrigin: opts.CrossOrigin,
		topOrigin:   opts.TopOrigin,
	}.marshal()
	if err != nil {
		return nil, err
	}

	// The signature covers authenticatorData || SHA-256(clientDataJSON) (§6.3.3 step 11).
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(bytes.Clone(authData), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, snapshot.Key, digest[:])
	if err != nil {
		return nil, fmt.Errorf("passkeytest: sign assertion: %w", err)
	}

	return &AssertionResponse{
		ID:    base64.RawURLEncoding.EncodeToString(snapshot.ID),
		RawID: snapshot.ID,
		Type:  "public-key",
		Response: AuthenticatorAssertionResponse{
			ClientDataJSON:    cd,
			AuthenticatorData: authData,
			Signature:         sig,
			UserHandle:        snapshot.UserHandle,
		},
		ClientExtensionResults:  map[string]any{},
		AuthenticatorAttachment: "platform",
	}, nil
}
