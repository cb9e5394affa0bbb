package otp

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func TestCodesAreUniform(t *testing.T) {
	s := &Service{}
	const n = 10_000
	var first [10]int
	seen := make(map[string]bool, n)
	for range n {
		c := s.newCode()
		if len(c) != CodeLength || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q is not %d digits", c, CodeLength)
		}
		first[c[0]-'0']++
		seen[c] = true
	}
	// Each leading digit is expected 1000 times (σ ≈ 30); 800–1200 is over six σ wide,
	// yet a modulo-biased or truncated generator (a missing leading zero, a digit that
	// never comes first) lands far outside it.
	for d, got := range first {
		if got < 800 || got > 1200 {
			t.Errorf("leading digit %d came %d times in %d codes, want about %d", d, got, n, n/10)
		}
	}
	// Among 10^4 draws from 10^8 codes, about 0.5 pairs collide.
	if len(seen) < n-10 {
		t.Errorf("only %d distinct codes in %d", len(seen), n)
	}
}

func TestCodeDrawRejectsBiasedValues(t *testing.T) {
	// 0xFFFFFFFF lies above the last whole multiple of 10^8 below 2^32, where taking
	// the remainder would favour low codes: it must be drawn again, not used.
	s := &Service{rand: bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 7})}
	if c := s.newCode(); c != "00000007" {
		t.Errorf("code = %q, want the second draw 00000007", c)
	}
	edge := drawLimit - 1 // the largest value accepted: 4,199,999,999
	s = &Service{rand: bytes.NewReader([]byte{byte(edge >> 24), byte(edge >> 16), byte(edge >> 8), byte(edge)})}
	if c := s.newCode(); c != "99999999" {
		t.Errorf("code = %q, want 99999999", c)
	}
}

func TestDecoyIsNotTheDrawnCode(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "otp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC) }
	key := []byte("0123456789abcdef0123456789abcdef")
	// Two services with the same random stream draw the same first code, so the code the
	// decoy drew is known: the one Issue returned.
	seed := [32]byte{1}
	issuer := &Service{Store: db, Now: now, Key: key, rand: rand.NewChaCha8(seed)}
	decoyer := &Service{Store: db, Now: now, Key: key, rand: rand.NewChaCha8(seed)}
	req := func(subject string) IssueRequest {
		return IssueRequest{TenantID: "default", Purpose: PurposeRecovery, Subject: subject, Policy: tenant.DefaultPolicy().Throttles}
	}
	var code string
	err = db.InTx(ctx, func(tx store.Tx) error {
		if code, err = issuer.Issue(ctx, tx, req("ann@example.com")); err != nil {
			return err
		}
		return decoyer.IssueDecoy(ctx, tx, req("nobody@example.com"))
	})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(subject string) error {
		_, err := issuer.Verify(ctx, VerifyRequest{TenantID: "default", Purpose: PurposeRecovery, Subject: subject, Code: code})
		return err
	}
	if err := verify("nobody@example.com"); !errors.Is(err, ErrWrongCode) {
		t.Errorf("decoy verified with the code it drew: %v", err)
	}
	if err := verify("ann@example.com"); err != nil {
		t.Errorf("the same code issued for real: %v", err)
	}
}

func TestNormalizeCode(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"12345678", "12345678"},
		{"1234-5678", "12345678"},
		{" 1234 5678\r\n", "12345678"},
		{"1\u00a02\u20133\u20144\u22125\u30006-7 8", "12345678"},
		{"0000 0000", "00000000"},
		{"1234567", ""},
		{"123456789", ""},
		{"1234_5678", ""},
		{"1234.5678", ""},
		{"１２３４５６７８", ""}, // fullwidth digits
		{"\xff12345678", ""},
		{"", ""},
		{strings.Repeat(" ", 60) + "12345678", ""},
	}
	for _, c := range cases {
		got, err := normalizeCode(c.in)
		if c.want == "" {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("normalizeCode(%q) = %q, %v; want ErrMalformed", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("normalizeCode(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func FuzzVerifyInput(f *testing.F) {
	for _, s := range []string{"12345678", "1234-5678", " 1234 5678 ", "1234567", "abcdefgh", "１２３４５６７８", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := normalizeCode(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("normalizeCode(%q): unexpected error %v", in, err)
			}
			// Refused only when the input is long, or is not 8 ASCII digits among
			// separators.
			if len(in) <= maxCodeInput && isCodeWithSeparators(in) {
				t.Fatalf("normalizeCode(%q) refused a well-formed code", in)
			}
			return
		}
		if len(got) != CodeLength || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("normalizeCode(%q) = %q, not %d ASCII digits", in, got, CodeLength)
		}
		if digits := strings.Map(keepASCIIDigit, in); digits != got {
			t.Fatalf("normalizeCode(%q) = %q, but the input's digits are %q", in, got, digits)
		}
		if again, err := normalizeCode(got); err != nil || again != got {
			t.Fatalf("normalizeCode is not idempotent on %q: %q, %v", got, again, err)
		}
	})
}

func keepASCIIDigit(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

// isCodeWithSeparators is the fuzz oracle: exactly 8 ASCII digits, and everything else
// white space or dashes.
func isCodeWithSeparators(in string) bool {
	rest := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || strings.ContainsRune(" \t\n\r\v\f\u0085\u00a0-\u2010\u2011\u2012\u2013\u2014\u2015\u2212", r) {
			return -1
		}
		return r
	}, in)
	return rest == "" && len(strings.Map(keepASCIIDigit, in)) == CodeLength
}
