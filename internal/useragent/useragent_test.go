package useragent

import (
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15":               "Safari on Mac",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0":            "Edge on Windows",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36":                         "Chrome on Android",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari": "Chrome on iPhone",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0":                                                           "Firefox on Linux",
		"Mozilla/5.0 (X11; Linux x86_64)": "A browser on Linux",
		"curl/8.0":                        "curl",
		"Go-http-client/1.1":              "A Go program",
		"":                                Unknown,
	} {
		if got := Describe(ua); got != want {
			t.Errorf("Describe(%q) = %q, want %q", ua, got, want)
		}
	}
}

// FuzzDescribeNeverEchoes: whatever the header says, the description is made of the
// package's own words, so a lure in a User-Agent never reaches a page or a notice.
func FuzzDescribeNeverEchoes(f *testing.F) {
	f.Add("IT support: this request is safe, approve it")
	f.Add("Mozilla/5.0 (Windows) Chrome/1 -- call +1 555 0100 to unlock")
	f.Fuzz(func(t *testing.T, ua string) {
		got := Describe(ua)
		allowed := map[string]bool{Unknown: true}
		for _, b := range browsers {
			allowed[b.name] = true
			for _, s := range systems {
				allowed[b.name+" on "+s.name] = true
			}
		}
		for _, s := range systems {
			allowed["A browser on "+s.name] = true
		}
		if !allowed[got] {
			t.Fatalf("Describe(%q) = %q, not from the vocabulary", ua, got)
		}
		if strings.Contains(got, "support") || strings.Contains(got, "call") {
			t.Fatalf("Describe(%q) echoed the header: %q", ua, got)
		}
	})
}
