// Package keys holds Gatehouse's key material: the key-encryption key that protects
// every private key at rest, and (later) the tenants' signing keys.
package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// KEKSize is the length of the key-encryption key: AES-256.
const KEKSize = 32

// LoadOrCreateKEK reads the base64 key in path, or, when the file does not exist,
// creates it with a fresh random key readable only by its owner (0600). It reports
// whether it created the file.
func LoadOrCreateKEK(path string) (kek []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kek = make([]byte, KEKSize)
		rand.Read(kek)
		// O_EXCL: if two nodes race to create it, one fails and re-reads the winner's key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateKEK(path)
		}
		if err != nil {
			return nil, false, fmt.Errorf("create key-encryption key %s: %w", path, err)
		}
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(kek) + "\n"); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("write key-encryption key %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, false, fmt.Errorf("write key-encryption key %s: %w", path, err)
		}
		return kek, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read key-encryption key %s: %w", path, err)
	}
	kek, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != KEKSize {
		return nil, false, fmt.Errorf("key-encryption key %s: want %d bytes of base64", path, KEKSize)
	}
	return kek, false, nil
}

// Sealer encrypts small secrets (private keys) under the key-encryption key with
// AES-256-GCM, binding each ciphertext to a label so one cannot be swapped for another.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer for kek.
func NewSealer(kek []byte) (*Sealer, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("key-encryption key must be %d bytes", KEKSize)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext for label.
func (s *Sealer) Seal(plaintext []byte, label string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, []byte(label))
}

// Open decrypts a Seal output for label.
func (s *Sealer) Open(ciphertext []byte, label string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("sealed value too short")
	}
	out, err := s.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(label))
	if err != nil {
		return nil, errors.New("sealed value does not open with this key-encryption key")
	}
	return out, nil
}
