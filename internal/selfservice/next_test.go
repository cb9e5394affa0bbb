package selfservice

import (
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
)

func TestSafeNext(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"/t/acme/account", "/t/acme/account"},
		{"/t/acme/account?done=passkey-added", "/t/acme/account?done=passkey-added"},
		{"/t/acme/oauth2/authorize?client_id=x&scope=openid+email", "/t/acme/oauth2/authorize?client_id=x&scope=openid+email"},
		{"/t/acme/", "/t/acme/"},
		{"", ""},
		{"/t/acme", ""},
		{"/t/other/account", ""},
		{"/t/acmex/account", ""},
		{"https://evil.example/t/acme/", ""},
		{"//evil.example/t/acme/", ""},
		{"/t/acme//evil.example", ""},
		{"/t/acme/\\evil.example", ""},
		{"/t/acme/../other/account", ""},
		{"/t/acme/%2e%2e/other/account", ""},
		{"/t/acme/./account", ""},
		{"/t/acme/a%2f%2fb", ""},
		{"/t/acme/a%5cb", ""},
		{"/t/acme/account#x", ""},
		{"/t/acme/acc\nount", ""},
		{"/t/acme/acc ount", ""},
		{"/t/acme/\u00e9", ""},
		{"/t/acme/%zz", ""},
		{"/t/acme/" + strings.Repeat("a", maxNext), ""},
	}
	for _, c := range cases {
		if got := safeNext("acme", c.in); got != c.want {
			t.Errorf("safeNext(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWithNext(t *testing.T) {
	if got := withNext("/t/a/signin", ""); got != "/t/a/signin" {
		t.Errorf("empty next: %q", got)
	}
	if got := withNext("/t/a/signin", "/t/a/x?y=1&z=2"); got != "/t/a/signin?next=%2Ft%2Fa%2Fx%3Fy%3D1%26z%3D2" {
		t.Errorf("next not escaped: %q", got)
	}
	if got := withNext("/t/a/nudge?x=1", "/t/a/b"); got != "/t/a/nudge?x=1&next=%2Ft%2Fa%2Fb" {
		t.Errorf("second parameter: %q", got)
	}
}

func TestMinutesRoundUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 minute", time.Minute: "1 minute", 61 * time.Second: "2 minutes",
		10 * time.Minute: "10 minutes", time.Hour: "1 hour", 24 * time.Hour: "24 hours", 0: "1 minute",
	} {
		if got := minutes(d); got != want {
			t.Errorf("minutes(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestDeviceName(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15":               "Safari on Mac",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0":            "Edge on Windows",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36":                         "Chrome on Android",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0 Mobile/15E148 Safari": "Chrome on iPhone",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0":                                                           "Firefox on Linux",
		"curl/8.0": "Unknown device",
		"":         "Unknown device",
	} {
		if got := deviceName(ua); got != want {
			t.Errorf("deviceName(%q) = %q, want %q", ua, got, want)
		}
	}
}

// FuzzSafeNext checks that whatever a request carries as "next", what the pages send
// a browser to stays on the tenant's own pages: a path (no scheme, host or
// credentials), under "/t/acme/", without the "//", backslash or dot segments that a
// browser would resolve somewhere else.
func FuzzSafeNext(f *testing.F) {
	for _, seed := range []string{
		"/t/acme/account", "/t/acme/x?y=%2F%2F", "//evil/t/acme/", "/t/acme/../../x", "/t/acme/%2e%2e/x",
		"/t/acme/\\\\evil", "https://evil/t/acme/", "/t/acme/\t/x", "/t/acme/a%00b", "/t/acme/?next=//evil",
		"/t/acme/%252e%252e/x", "/t/acme//x", "/t/acme/.", "/t/acme/a/..",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext("acme", in)
		if out == "" {
			return
		}
		if out != in {
			t.Fatalf("safeNext(%q) = %q: it must return its input or nothing", in, out)
		}
		u, err := url.Parse(out)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
			t.Fatalf("safeNext(%q) accepted a URL that is not a plain path: %+v, %v", in, u, err)
		}
		// The browser resolves the reference against the page's URL; it must stay under
		// the tenant's prefix.
		base, _ := url.Parse("https://gatehouse.example/t/acme/signin")
		resolved := base.ResolveReference(u)
		if resolved.Host != "gatehouse.example" || !strings.HasPrefix(resolved.Path, "/t/acme/") {
			t.Fatalf("safeNext(%q) leads to %s", in, resolved)
		}
		if strings.Contains(out, "//") || strings.ContainsAny(out, "\\#") || strings.Contains(u.Path, "//") {
			t.Fatalf("safeNext(%q) kept a sequence browsers reinterpret", in)
		}
		if c := path.Clean(u.Path); c != u.Path && c+"/" != u.Path {
			t.Fatalf("safeNext(%q): path %q is not clean", in, u.Path)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] >= 0x7f {
				t.Fatalf("safeNext(%q) kept byte %#x", in, out[i])
			}
		}
	})
}
