package keys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKEK(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.kek")
	k1, created, err := LoadOrCreateKEK(path)
	if err != nil || !created || len(k1) != KEKSize {
		t.Fatalf("first call: created=%v len=%d err=%v", created, len(k1), err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKEK(path)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("second call: created=%v same=%v err=%v", created, string(k1) == string(k2), err)
	}
	if err := os.WriteFile(path, []byte("not base64!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKEK(path); err == nil {
		t.Fatal("corrupt key file accepted")
	}
}

func TestSealerBindsLabel(t *testing.T) {
	k := make([]byte, KEKSize)
	s, err := NewSealer(k)
	if err != nil {
		t.Fatal(err)
	}
	ct := s.Seal([]byte("private key"), "tenant-a/key-1")
	if pt, err := s.Open(ct, "tenant-a/key-1"); err != nil || string(pt) != "private key" {
		t.Fatalf("open: %q %v", pt, err)
	}
	if _, err := s.Open(ct, "tenant-b/key-1"); err == nil {
		t.Fatal("ciphertext opened under another label")
	}
	other, _ := NewSealer(append([]byte{1}, k[1:]...))
	if _, err := other.Open(ct, "tenant-a/key-1"); err == nil {
		t.Fatal("ciphertext opened under another key")
	}
}
