package passkeytest

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
)

// credentialIDLength matches what common platform authenticators use, well under the 1023-byte limit.
const credentialIDLength = 32

// CreateOptions are the inputs to navigator.credentials.create(), plus knobs that forge the response.
type CreateOptions struct {
	// RPID is the relying party ID; empty means the origin's host, as in a browser.
	RPID string
	// Origin is the page origin the browser is on, such as "http://localhost:8080". Required.
	Origin string
	// Challenge is the raw (decoded) challenge from the server. Required.
	Challenge []byte
	// UserHandle is the raw user.id; it becomes the credential's user handle.
	UserHandle []byte
	// ExcludeCredentials lists credential IDs the server already knows; creation fails with ErrCredentialExcluded if one is here.
	ExcludeCredentials [][]byte

	// OriginOverride, when set, is written to clientDataJSON instead of Origin, like a compromised client would.
	OriginOverride string
	// RPIDHashOverride, when non-nil, replaces SHA-256(RPID) in the authenticator data.
	RPIDHashOverride []byte
	// ClientDataType, when set, replaces "webauthn.create" in clientDataJSON.
	ClientDataType string
	// CrossOrigin reports the call as made from a cross-origin iframe.
	CrossOrigin bool
	// TopOrigin is the top-level origin reported for cross-origin calls.
	TopOrigin string
	// NoUserVerification clears the UV flag for this ceremony only.
	NoUserVerification bool
}

// AttestationResponse is a registration PublicKeyCredential as serialised by toJSON().
// Its fields are exported so tests can tamper with a response after it is made.
type AttestationResponse struct {
	ID                      string                           `json:"id"`
	RawID                   Base64URL                        `json:"rawId"`
	Type                    string                           `json:"type"`
	Response                AuthenticatorAttestationResponse `json:"response"`
	ClientExtensionResults  map[string]any                   `json:"clientExtensionResults"`
	AuthenticatorAttachment string                           `json:"authenticatorAttachment"`
}

// AuthenticatorAttestationResponse is the "response" member of a registration toJSON().
// Besides clientDataJSON and attestationObject it carries the convenience members
// (authenticatorData, publicKey, publicKeyAlgorithm) that browsers also include.
type AuthenticatorAttestationResponse struct {
	ClientDataJSON     Base64URL `json:"clientDataJSON"`
	AttestationObject  Base64URL `json:"attestationObject"`
	Transports         []string  `json:"transports"`
	AuthenticatorData  Base64URL `json:"authenticatorData"`
	PublicKey          Base64URL `json:"publicKey"`
	PublicKeyAlgorithm int       `json:"publicKeyAlgorithm"`
}

// Create registers a new discoverable ES256 credential and returns its "none" attestation.
// A credential already stored for the same rpId and user handle is replaced, as platform authenticators do.
// It returns ErrInvalidOptions, ErrRPIDMismatch or ErrCredentialExcluded when a browser would refuse the call.
func (a *Authenticator) Create(opts CreateOptions) (*AttestationResponse, error) {
	if len(opts.Challenge) == 0 {
		return nil, fmt.Errorf("%w: challenge is required", ErrInvalidOptions)
	}
	rpID, err := resolveRPID(opts.RPID, opts.Origin)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: generate key: %w", err)
	}
	coseKey, err := coseES256Key(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: encode public key: %w", err)
	}

	a.mu.Lock()
	defer a.mu.Unlock()

	for _, c := range a.creds {
		if c.RPID == rpID && slices.ContainsFunc(opts.ExcludeCredentials, func(id []byte) bool { return bytes.Equal(id, c.ID) }) {
			return nil, ErrCredentialExcluded
		}
	}
	id := make([]byte, credentialIDLength)
	if _, err := io.ReadFull(a.rand, id); err != nil {
		return nil, fmt.Errorf("passkeytest: credential id: %w", err)
	}

	authData := authenticatorData(
		rpIDHash(rpID, opts.RPIDHashOverride),
		a.flags(opts.NoUserVerification)|flagAT,
		0,
		attestedCredentialData(a.aaguid, id, coseKey),
	)
	attObj, err := cborEncode(cborMap{
		"fmt":      "none",
		"attStmt":  cborMap{},
		"authData": authData,
	})
	if err != nil {
		return nil, err
	}
	cd, err := clientData{
		typ:         cmp.Or(opts.ClientDataType, clientDataCreate),
		challenge:   opts.Challenge,
		origin:      cmp.Or(opts.OriginOverride, opts.Origin),
		crossOrigin: opts.CrossOrigin,
		topOrigin:   opts.TopOrigin,
	}.marshal()
	if err != nil {
		return nil, err
	}

	cred := &Credential{ID: id, Key: key, RPID: rpID, UserHandle: bytes.Clone(opts.UserHandle)}
	if len(cred.UserHandle) > 0 {
		a.creds = slices.DeleteFunc(a.creds, func(c *Credential) bool {
			return c.RPID == rpID && bytes.Equal(c.UserHandle, cred.UserHandle)
		})
	}
	a.creds = append(a.creds, cred)

	return &AttestationResponse{
		ID:    base64.RawURLEncoding.EncodeToString(id),
		RawID: bytes.Clone(id),
		Type:  "public-key",
		Response: AuthenticatorAttestationResponse{
			ClientDataJSON:     cd,
			AttestationObject:  attObj,
			Transports:         []string{"internal"},
			AuthenticatorData:  authData,
			PublicKey:          spki,
			PublicKeyAlgorithm: coseAlgES256,
		},
		ClientExtensionResults:  map[string]any{},
		AuthenticatorAttachment: "platform",
	}, nil
}

// coseES256Key encodes pub as a COSE_Key (RFC 9053 §7.1.1): kty EC2, alg ES256, crv P-256, x, y.
func coseES256Key(pub *ecdsa.PublicKey) ([]byte, error) {
	point, err := pub.Bytes() // 0x04 | x (32) | y (32)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: encode public key: %w", err)
	}
	const (
		keyKty, keyAlg, keyCrv, keyX, keyY = 1, 3, -1, -2, -3
		ktyEC2, crvP256                    = 2, 1
	)
	return cborEncode(cborMap{
		keyKty: ktyEC2,
		keyAlg: coseAlgES256,
		keyCrv: crvP256,
		keyX:   point[1:33],
		keyY:   point[33:65],
	})
}
