package keys_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/keys"
)

func TestDeriveSeparatesLabelsAndKeys(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, keys.KEKSize)
	other := bytes.Repeat([]byte{8}, keys.KEKSize)
	a := keys.Derive(kek, "otp")
	if len(a) != 32 {
		t.Fatalf("derived key has %d bytes, want 32", len(a))
	}
	if !bytes.Equal(a, keys.Derive(kek, "otp")) {
		t.Fatal("Derive is not deterministic: every node must derive the same key")
	}
	if bytes.Equal(a, keys.Derive(kek, "otp2")) || bytes.Equal(a, keys.Derive(other, "otp")) {
		t.Fatal("different labels or key-encryption keys gave the same key")
	}
	if bytes.Contains(a, kek[:8]) {
		t.Fatal("derived key contains key-encryption key bytes")
	}
	m := hmac.New(sha256.New, kek)
	m.Write([]byte("otp"))
	if !bytes.Equal(a, m.Sum(nil)) {
		t.Fatal("Derive is not HMAC-SHA256(kek, label)")
	}
}
