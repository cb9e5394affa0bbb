// Package secret makes random identifiers and bearer secrets, and the hashes under
// which single-use secrets are stored.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Token returns n random bytes as unpadded base64url text, for bearer secrets such as
// cookie values and setup links.
func Token(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return base64.RawURLEncoding.EncodeToString(b)
}

// ID returns a 128-bit random identifier as 32 hex characters. IDs are not secret
// but must not be guessable either, so enumeration gains nothing.
func ID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Hash returns the SHA-256 of a high-entropy secret as hex. A fast hash is right here:
// the secrets are random, so there is nothing for a slow hash to protect.
func Hash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}
