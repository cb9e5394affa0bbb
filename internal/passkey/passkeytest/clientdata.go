package passkeytest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
)

// Base64URL is binary data that marshals to JSON as unpadded base64url, as toJSON() does.
// Unmarshalling also accepts padding, which some servers add.
type Base64URL []byte

// MarshalJSON encodes b as an unpadded base64url JSON string.
func (b Base64URL) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

// UnmarshalJSON decodes a base64url JSON string, with or without padding.
func (b *Base64URL) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	out, err := decodeBase64URL(s)
	if err != nil {
		return err
	}
	*b = out
	return nil
}

func decodeBase64URL(s string) ([]byte, error) {
	out, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url: %v", ErrInvalidOptions, err)
	}
	return out, nil
}

// Client data types (WebAuthn Level 3 §5.8.1).
const (
	clientDataCreate = "webauthn.create"
	clientDataGet    = "webauthn.get"
)

// clientData holds what the client collects and the authenticator signs over (via its hash).
type clientData struct {
	typ         string
	challenge   []byte
	origin      string
	crossOrigin bool
	topOrigin   string
}

// marshal serialises c the way browsers do (§5.8.1.1): type, challenge, origin and crossOrigin
// always and in that order, then topOrigin only for cross-origin calls.
// Relying parties hash these exact bytes, so member order and escaping are kept stable.
func (c clientData) marshal() ([]byte, error) {
	var buf bytes.Buffer
	members := []struct {
		name  string
		value any
	}{
		{"type", c.typ},
		{"challenge", base64.RawURLEncoding.EncodeToString(c.challenge)},
		{"origin", c.origin},
		{"crossOrigin", c.crossOrigin},
	}
	if c.topOrigin != "" {
		members = append(members, struct {
			name  string
			value any
		}{"topOrigin", c.topOrigin})
	}

	buf.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := writeJSONValue(&buf, m.name); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := writeJSONValue(&buf, m.value); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// writeJSONValue writes v without HTML escaping, which browsers never apply to clientDataJSON.
func writeJSONValue(buf *bytes.Buffer, v any) error {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
	return nil
}

// authenticatorData lays out §6.1: rpIdHash (32) | flags (1) | signCount (4, big-endian) | attestedCredentialData.
func authenticatorData(rpIDHash []byte, flags byte, signCount uint32, attested []byte) []byte {
	out := make([]byte, 0, len(rpIDHash)+1+4+len(attested))
	out = append(out, rpIDHash...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, signCount)
	return append(out, attested...)
}

// attestedCredentialData lays out §6.5.2: aaguid (16) | credentialIdLength (2, big-endian) | credentialId | credentialPublicKey.
func attestedCredentialData(aaguid [16]byte, id, coseKey []byte) []byte {
	out := make([]byte, 0, 16+2+len(id)+len(coseKey))
	out = append(out, aaguid[:]...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(id)))
	out = append(out, id...)
	return append(out, coseKey...)
}
