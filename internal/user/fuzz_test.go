package user_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/user"
)

// FuzzNormalizeEmail checks that a stored address is canonical: lower-case, one "@",
// and unchanged by normalizing it again (lookups normalize their input the same way,
// so anything else would make an account unfindable by its own address).
func FuzzNormalizeEmail(f *testing.F) {
	for _, seed := range []string{
		"alice@example.com", " Alice@Example.COM ", "Alice <alice@example.com>", "<a@b>",
		`"a@b"@c.d`, "a@[192.0.2.1]", "a@[IPv6:::1]", "a@[::A]", "ÀÉÎ@ÕÜ.de", "ǅ@x.y",
		"K@x.y", "İ@x.y",
		strings.Repeat("Ⱥ", 120) + "@x.yz", // 245 bytes, but 365 once lower-cased "a@b.c (comment)", "a\u200b@b.c",
		"a@b.c\u0085", "\u00a0a@b.c", "a..b@c.d", ".a@b.c", "a@b..c", "a\xff@b.c", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := user.NormalizeEmail(in)
		if err != nil {
			return
		}
		if out != strings.ToLower(out) {
			t.Fatalf("NormalizeEmail(%q) = %q, not lower-case", in, out)
		}
		if strings.Count(out, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q, want exactly one @", in, out)
		}
		if len(out) > 254 {
			t.Fatalf("NormalizeEmail(%q) = %q, %d bytes", in, out, len(out))
		}
		again, err := user.NormalizeEmail(out)
		if err != nil || again != out {
			t.Fatalf("NormalizeEmail(%q) = %q, but normalizing that gives %q, %v", in, out, again, err)
		}
	})
}

// FuzzNormalizePhone checks that a stored number is E.164 and a fixed point.
func FuzzNormalizePhone(f *testing.F) {
	for _, seed := range []string{
		"+15551234567", "+1 (555) 123-4567", " +44.20.7946.0958 ", "+0123456789", "++1555",
		"15551234567", "+1555\x001234567", "+١٢٣٤٥٦٧٨٩", "+123456789012345", "+1234567890123456", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := user.NormalizePhone(in)
		if err != nil {
			return
		}
		if len(out) < 9 || len(out) > 16 || out[0] != '+' || out[1] == '0' {
			t.Fatalf("NormalizePhone(%q) = %q, not E.164", in, out)
		}
		for _, c := range out[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("NormalizePhone(%q) = %q, not digits only", in, out)
			}
		}
		again, err := user.NormalizePhone(out)
		if err != nil || again != out {
			t.Fatalf("NormalizePhone(%q) = %q, but normalizing that gives %q, %v", in, out, again, err)
		}
	})
}
