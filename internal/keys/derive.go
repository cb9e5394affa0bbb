package keys

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Derive returns a 32-byte key for one purpose, HMAC-SHA256(kek, label). Each
// subsystem that needs its own server secret (one-time code hashing, …) derives it
// from the key-encryption key under a distinct label, so one leaked derived key
// reveals neither the key-encryption key nor any other derived key, and operators
// have only one secret to keep and back up.
func Derive(kek []byte, label string) []byte {
	m := hmac.New(sha256.New, kek)
	m.Write([]byte(label))
	return m.Sum(nil)
}
