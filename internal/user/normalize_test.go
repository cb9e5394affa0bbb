package user_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/user"
)

func TestNormalizeEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".test" // 255 bytes
	for _, tc := range []struct {
		in, want string // want "" means refused
	}{
		{"alice@example.com", "alice@example.com"},
		{"Alice@Example.COM", "alice@example.com"},
		{"  alice@example.com\t\n", "alice@example.com"},
		{"first.last+tag@sub.example.org", "first.last+tag@sub.example.org"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"JÖRG@BEISPIEL.DE", "jörg@beispiel.de"},
		{"a@[192.0.2.1]", "a@[192.0.2.1]"},
		{long[1:], long[1:]}, // 254 bytes is the limit
		{long, ""},
		// Two upper-case letters whose lower case is longer: the limit applies to
		// what is stored, or normalizing the stored value would fail.
		{strings.Repeat("Ⱥ", 40) + "@" + strings.Repeat("b", 168) + ".test", ""},
		{"", ""},
		{"   ", ""},
		{"alice", ""},
		{"alice@", ""},
		{"@example.com", ""},
		{"alice@@example.com", ""},
		{"alice@bob@example.com", ""},
		{"alice @example.com", ""},
		{"alice@example .com", ""},
		{"Alice <alice@example.com>", ""},
		{"<alice@example.com>", ""},
		{`"Alice" <alice@example.com>`, ""},
		{"alice@example.com (Alice)", ""},
		{`"alice"@example.com`, ""},
		{`"a@b"@example.com`, ""},
		{"alice@example.com, bob@example.com", ""},
		{"alice@example.com\r\nBcc: eve@example.com", ""},
		{"ali\xffce@example.com", ""},
		{"alice@exa\xc3mple.com", ""},
		// Invisible and direction-changing characters would let two different stored
		// addresses look the same to an operator.
		{"alice\u200b@example.com", ""},
		{"alice\u202e@example.com", ""},
		{"alice@example.com\u00a0x", ""},
		{"alice\x00@example.com", ""},
	} {
		got, err := user.NormalizeEmail(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("NormalizeEmail(%q) = %q, want it refused", tc.in, got)
			} else if !errors.Is(err, user.ErrInvalid) {
				t.Errorf("NormalizeEmail(%q) = %v, want an error wrapping ErrInvalid", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means refused
	}{
		{"+15551234567", "+15551234567"},
		{"+1 (555) 123-4567", "+15551234567"},
		{"  +44 20 7946 0958 ", "+442079460958"},
		{"+49.30.901820", "+4930901820"},
		{"+12345678", "+12345678"},               // 8 digits, the shortest
		{"+123456789012345", "+123456789012345"}, // 15 digits, the longest E.164 allows
		{"+1234567", ""},                         // 7 digits
		{"+1234567890123456", ""},                // 16 digits
		{"15551234567", ""},                      // no country code marker
		{"(+1) 555 123 4567", ""},                // + not first
		{"++15551234567", ""},
		{"+1555+1234567", ""},
		{"+0 555 123 4567", ""}, // no country code starts with 0
		{"+1 555 CALL NOW", ""},
		{"+1-555-123-4567 ext 9", ""},
		{"+1_555_123_4567", ""},
		{"+١٢٣٤٥٦٧٨٩", ""},   // Arabic-Indic digits
		{"+１５５５１２３４５６７", ""}, // full-width digits
		{"+1555\x001234567", ""},
		{"+1555\xff1234567", ""},
		{"", ""},
		{"+", ""},
		{"   ", ""},
	} {
		got, err := user.NormalizePhone(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("NormalizePhone(%q) = %q, want it refused", tc.in, got)
			} else if !errors.Is(err, user.ErrInvalid) {
				t.Errorf("NormalizePhone(%q) = %v, want an error wrapping ErrInvalid", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestNormalizeErrorsDoNotEchoHugeInput(t *testing.T) {
	huge := strings.Repeat("A", 100_000)
	for name, f := range map[string]func(string) (string, error){
		"NormalizeEmail": user.NormalizeEmail, "NormalizePhone": user.NormalizePhone,
	} {
		_, err := f(huge)
		if err == nil || len(err.Error()) > 400 {
			t.Errorf("%s(100k characters) error is %d bytes long, want a short sentence", name, len(err.Error()))
		}
	}
}
