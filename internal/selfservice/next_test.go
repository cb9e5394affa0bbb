package selfservice

import (
	"net/url"
	"path"
	"strings"
	"testing"
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
