package passkeytest

import (
	"encoding/json"
	"fmt"
)

// creationOptionsJSON is the subset of PublicKeyCredentialCreationOptionsJSON a client acts on.
type creationOptionsJSON struct {
	RP struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID *Base64URL `json:"id"`
	} `json:"user"`
	Challenge        *Base64URL             `json:"challenge"`
	PubKeyCredParams []credentialParam      `json:"pubKeyCredParams"`
	Exclude          []credentialDescriptor `json:"excludeCredentials"`
}

type credentialParam struct {
	Type string `json:"type"`
	Alg  int    `json:"alg"`
}

type credentialDescriptor struct {
	Type string    `json:"type"`
	ID   Base64URL `json:"id"`
}

// requestOptionsJSON is the subset of PublicKeyCredentialRequestOptionsJSON a client acts on.
type requestOptionsJSON struct {
	RPID      string                 `json:"rpId"`
	Challenge *Base64URL             `json:"challenge"`
	Allow     []credentialDescriptor `json:"allowCredentials"`
}

// unwrapPublicKey returns the options inside a {"publicKey": {...}} wrapper, or data itself when there is none.
// go-webauthn's protocol.CredentialCreation and protocol.CredentialAssertion marshal to the wrapped form.
func unwrapPublicKey(data []byte) ([]byte, error) {
	var wrapper struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(data, &wrapper); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	if len(wrapper.PublicKey) > 0 && string(wrapper.PublicKey) != "null" {
		return wrapper.PublicKey, nil
	}
	return data, nil
}

// ParseCreationOptions reads server registration options, either a PublicKeyCredentialCreationOptionsJSON
// object or one wrapped as {"publicKey": {...}}, and returns CreateOptions with RPID, Challenge, UserHandle
// and ExcludeCredentials set. The caller fills in Origin.
// It returns ErrInvalidOptions for malformed JSON, base64url or a missing challenge or user id, and
// ErrUnsupportedAlgorithm when pubKeyCredParams is non-empty but lacks ES256, as a browser would.
func ParseCreationOptions(data []byte) (CreateOptions, error) {
	inner, err := unwrapPublicKey(data)
	if err != nil {
		return CreateOptions{}, err
	}
	var o creationOptionsJSON
	if err := json.Unmarshal(inner, &o); err != nil {
		return CreateOptions{}, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	if o.Challenge == nil || len(*o.Challenge) == 0 {
		return CreateOptions{}, fmt.Errorf("%w: challenge is required", ErrInvalidOptions)
	}
	if o.User.ID == nil || len(*o.User.ID) == 0 {
		return CreateOptions{}, fmt.Errorf("%w: user.id is required", ErrInvalidOptions)
	}
	// An empty list means the browser's defaults, which include ES256 (§5.1.3 step 10).
	if len(o.PubKeyCredParams) > 0 && !offersES256(o.PubKeyCredParams) {
		return CreateOptions{}, ErrUnsupportedAlgorithm
	}
	opts := CreateOptions{
		RPID:       o.RP.ID,
		Challenge:  *o.Challenge,
		UserHandle: *o.User.ID,
	}
	opts.ExcludeCredentials = descriptorIDs(o.Exclude)
	return opts, nil
}

// ParseRequestOptions reads server authentication options, either a PublicKeyCredentialRequestOptionsJSON
// object or one wrapped as {"publicKey": {...}}, and returns GetOptions with RPID, Challenge and
// AllowCredentials set. The caller fills in Origin.
// It returns ErrInvalidOptions for malformed JSON, base64url or a missing challenge.
func ParseRequestOptions(data []byte) (GetOptions, error) {
	inner, err := unwrapPublicKey(data)
	if err != nil {
		return GetOptions{}, err
	}
	var o requestOptionsJSON
	if err := json.Unmarshal(inner, &o); err != nil {
		return GetOptions{}, fmt.Errorf("%w: %v", ErrInvalidOptions, err)
	}
	if o.Challenge == nil || len(*o.Challenge) == 0 {
		return GetOptions{}, fmt.Errorf("%w: challenge is required", ErrInvalidOptions)
	}
	opts := GetOptions{RPID: o.RPID, Challenge: *o.Challenge}
	opts.AllowCredentials = descriptorIDs(o.Allow)
	return opts, nil
}

func offersES256(params []credentialParam) bool {
	for _, p := range params {
		if p.Type == "public-key" && p.Alg == coseAlgES256 {
			return true
		}
	}
	return false
}

// descriptorIDs returns the IDs of public-key descriptors; browsers skip descriptors of other types.
func descriptorIDs(ds []credentialDescriptor) [][]byte {
	var ids [][]byte
	for _, d := range ds {
		if d.Type == "public-key" {
			ids = append(ids, d.ID)
		}
	}
	return ids
}
