package secret_test

import (
	"encoding/base64"
	"regexp"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/secret"
)

var (
	base64url = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	hex32     = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex64     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func TestToken(t *testing.T) {
	for _, tc := range []struct{ bytes, chars int }{{16, 22}, {32, 43}, {33, 44}, {1, 2}} {
		tok := secret.Token(tc.bytes)
		if len(tok) != tc.chars || !base64url.MatchString(tok) {
			t.Errorf("Token(%d) = %q, want %d URL-safe characters without padding", tc.bytes, tok, tc.chars)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != tc.bytes {
			t.Errorf("Token(%d) decodes to %d bytes (%v)", tc.bytes, len(raw), err)
		}
	}

	// 10,000 draws of 256 bits: any repeat means the source is not random. Every one
	// of the 64 characters should turn up, at a rate near 1/64 each.
	const draws = 10000
	seen := make(map[string]bool, draws)
	counts := map[rune]int{}
	total := 0
	for range draws {
		tok := secret.Token(32)
		if seen[tok] {
			t.Fatalf("Token(32) repeated %q", tok)
		}
		seen[tok] = true
		if !base64url.MatchString(tok) {
			t.Fatalf("Token(32) = %q, outside the base64url alphabet", tok)
		}
		// The last character carries only 4 random bits; leave it out of the tally.
		for _, c := range tok[:len(tok)-1] {
			counts[c]++
			total++
		}
	}
	if len(counts) != 64 {
		t.Errorf("only %d of the 64 base64url characters appeared in %d tokens", len(counts), draws)
	}
	// Expected 6,563 of each; a bias of a third either way would be far outside chance.
	want := total / 64
	for c, n := range counts {
		if n < want*2/3 || n > want*4/3 {
			t.Errorf("character %q appeared %d times, expected about %d", c, n, want)
		}
	}
}

func TestID(t *testing.T) {
	const draws = 10000
	seen := make(map[string]bool, draws)
	for range draws {
		id := secret.ID()
		if !hex32.MatchString(id) {
			t.Fatalf("ID() = %q, want 32 lower-case hex characters", id)
		}
		if seen[id] {
			t.Fatalf("ID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestHash(t *testing.T) {
	// Stored hashes must stay comparable across releases: pin SHA-256 (FIPS 180-2 "abc").
	if got := secret.Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Hash(abc) = %s, want SHA-256 in lower-case hex", got)
	}
	inputs := []string{"", "a", "A", "a ", "token-1", "token-2", secret.Token(32), "\x00", "é"}
	seen := map[string]string{}
	for _, in := range inputs {
		h := secret.Hash(in)
		if !hex64.MatchString(h) {
			t.Errorf("Hash(%q) = %q, want 64 lower-case hex characters", in, h)
		}
		if h != secret.Hash(in) {
			t.Errorf("Hash(%q) is not deterministic", in)
		}
		if other, dup := seen[h]; dup {
			t.Errorf("Hash(%q) = Hash(%q)", in, other)
		}
		seen[h] = in
		if h == in {
			t.Errorf("Hash(%q) returned its input", in)
		}
	}
}
