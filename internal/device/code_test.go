package device

import (
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		typed, want string
		ok          bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{"bcdf-ghjk", "BCDFGHJK", true},
		{" bcdfghjk ", "BCDFGHJK", true},
		{"b-c-d-f-g-h-j-k", "BCDFGHJK", true},
		{"BCDF-GHJ", "", false},       // too short
		{"BCDF-GHJKL", "", false},     // too long
		{"BCDF-GHJA", "", false},      // a vowel is never in a code
		{"BCDF-GHJ1", "", false},      // nor a digit
		{"BCDF\u00a0GHJK", "", false}, // nor other spaces
		{"ＢＣＤＦ-ＧＨＪＫ", "", false},      // nor full-width letters
		{strings.Repeat("B", 40), "", false},
		{"", "", false},
	} {
		got, ok := Normalize(tc.typed)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.typed, got, ok, tc.want, tc.ok)
		}
	}
}

// TestUserCodes draws many codes: each has the documented shape, round-trips through
// Display and Normalize, and every letter of the alphabet turns up about equally.
func TestUserCodes(t *testing.T) {
	counts := map[rune]int{}
	const draws = 20000
	for range draws {
		c := newUserCode()
		if len(c) != userCodeLen {
			t.Fatalf("code %q has %d characters", c, len(c))
		}
		if back, ok := Normalize(Display(c)); !ok || back != c {
			t.Fatalf("code %q does not survive Display and Normalize", c)
		}
		for _, r := range c {
			counts[r]++
		}
	}
	want := draws * userCodeLen / len(Alphabet)
	for _, r := range Alphabet {
		if n := counts[r]; n < want*9/10 || n > want*11/10 {
			t.Errorf("letter %c drawn %d times, want about %d", r, n, want)
		}
	}
	if len(counts) != len(Alphabet) {
		t.Errorf("codes use %d letters, want the %d of the alphabet", len(counts), len(Alphabet))
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdfghjk", "", "----", "ÿ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := Normalize(s)
		if !ok {
			return
		}
		if len(c) != userCodeLen || strings.Trim(c, Alphabet) != "" {
			t.Fatalf("Normalize(%q) = %q: not a code", s, c)
		}
	})
}

// TestSlowDown: a poll sooner than the interval is too fast and grows the interval
// by 5 s for every later poll; polls that keep the interval are not.
func TestSlowDown(t *testing.T) {
	var p pollTracker
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := t0.Add(10 * time.Minute)
	steps := []struct {
		at       time.Duration
		fast     bool
		interval time.Duration
	}{
		{0, false, 5 * time.Second},
		{5 * time.Second, false, 5 * time.Second},
		{7 * time.Second, true, 10 * time.Second},
		{12 * time.Second, true, 15 * time.Second},
		{27 * time.Second, false, 15 * time.Second},
		{42 * time.Second, false, 15 * time.Second},
	}
	for _, s := range steps {
		if got := p.tooFast("h", t0.Add(s.at), 5*time.Second, end); got != s.fast {
			t.Errorf("poll at %v: too fast = %v, want %v", s.at, got, s.fast)
		}
		if got := p.interval("h"); got != s.interval {
			t.Errorf("after the poll at %v the interval is %v, want %v", s.at, got, s.interval)
		}
	}
	p.forget("h")
	if p.interval("h") != 0 {
		t.Error("forget kept the state")
	}
}
