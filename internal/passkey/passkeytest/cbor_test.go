package passkeytest

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
)

func TestCBOREncodeVectors(t *testing.T) {
	// Vectors from RFC 8949 Appendix A, plus map key ordering.
	tests := []struct {
		in   any
		want string
	}{
		{0, "00"},
		{23, "17"},
		{24, "1818"},
		{100, "1864"},
		{1000, "1903e8"},
		{1000000, "1a000f4240"},
		{int64(1000000000000), "1b000000e8d4a51000"},
		{int64(math.MaxInt64), "1b7fffffffffffffff"},
		{-1, "20"},
		{-10, "29"},
		{-100, "3863"},
		{-1000, "3903e7"},
		{int64(math.MinInt64), "3b7fffffffffffffff"},
		{"", "60"},
		{"a", "6161"},
		{"IETF", "6449455446"},
		{"\u00fc", "62c3bc"},
		{[]byte{}, "40"},
		{[]byte{1, 2, 3, 4}, "4401020304"},
		{cborMap{}, "a0"},
		{cborMap{3: 4, 1: 2}, "a201020304"},
		// Canonical order: shorter encoded keys first, then bytewise, so 10 (0a) < -1 (20) < "a" < "b".
		{cborMap{"b": 1, "a": 2, -1: 3, 10: 4}, "a40a042003616102616201"},
		{cborMap{"authData": []byte{}, "fmt": "none", "attStmt": cborMap{}}, "a363666d74646e6f6e656761747453746d74a068617574684461746140"},
	}
	for _, tt := range tests {
		got, err := cborEncode(tt.in)
		if err != nil {
			t.Errorf("cborEncode(%#v): %v", tt.in, err)
			continue
		}
		if hex.EncodeToString(got) != tt.want {
			t.Errorf("cborEncode(%#v) = %x, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCBOREncodeRejects(t *testing.T) {
	tests := map[string]any{
		"float":           1.5,
		"bool":            true,
		"invalid utf-8":   "\xff",
		"float key":       cborMap{1.5: 2},
		"duplicate key":   cborMap{1: "a", int64(1): "b"},
		"nested bad type": cborMap{1: []int{1}},
	}
	for name, in := range tests {
		if got, err := cborEncode(in); err == nil {
			t.Errorf("%s: cborEncode = %x, want error", name, got)
		}
	}
}

// FuzzCBORMatchesDecoder checks that what go-webauthn's strict CTAP2 decoder reads back is what was encoded.
func FuzzCBORMatchesDecoder(f *testing.F) {
	f.Add(int64(-7), "none", []byte{1, 2, 3})
	f.Add(int64(math.MinInt64), "", []byte(nil))
	f.Add(int64(65536), "ü", bytes.Repeat([]byte{9}, 300))
	f.Fuzz(func(t *testing.T, n int64, s string, b []byte) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		enc, err := cborEncode(cborMap{1: n, 2: s, -1: b, "k": cborMap{"n": n}})
		if err != nil {
			t.Fatalf("cborEncode: %v", err)
		}
		var got struct {
			N int64  `cbor:"1,keyasint"`
			S string `cbor:"2,keyasint"`
			B []byte `cbor:"-1,keyasint"`
			K struct {
				N int64 `cbor:"n"`
			} `cbor:"k"`
		}
		if err := webauthncbor.Unmarshal(enc, &got); err != nil {
			t.Fatalf("decode %x: %v", enc, err)
		}
		if got.N != n || got.S != s || !bytes.Equal(got.B, b) || got.K.N != n {
			t.Fatalf("round trip of (%d, %q, %x) gave %+v", n, s, b, got)
		}
		// The encoder must already be in canonical form: re-encoding with the CTAP2 encoder changes nothing.
		var generic any
		if err := webauthncbor.Unmarshal(enc, &generic); err != nil {
			t.Fatalf("decode generic: %v", err)
		}
		canonical, err := webauthncbor.Marshal(generic)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if !bytes.Equal(canonical, enc) {
			t.Fatalf("not canonical:\n got %x\nwant %x", enc, canonical)
		}
	})
}
