package client_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestMatchRedirect(t *testing.T) {
	web := []string{"https://app.example.com/callback", "https://app.example.com/cb?tenant=a&x=1"}
	native := []string{"http://127.0.0.1/oauth/cb", "http://[::1]:8400/done"}
	local := []string{"http://localhost:8080/cb"}
	cases := []struct {
		name       string
		registered []string
		got        string
		want       bool
	}{
		{"exact", web, "https://app.example.com/callback", true},
		{"exact with query", web, "https://app.example.com/cb?tenant=a&x=1", true},
		{"trailing slash added", web, "https://app.example.com/callback/", false},
		{"trailing slash removed", []string{"https://app.example.com/"}, "https://app.example.com", false},
		{"host case differs", web, "https://APP.example.com/callback", false},
		{"scheme case differs", web, "HTTPS://app.example.com/callback", false},
		{"path case differs", web, "https://app.example.com/Callback", false},
		{"percent-encoded path", web, "https://app.example.com/%63allback", false},
		{"dot segment", web, "https://app.example.com/x/../callback", false},
		{"default port spelled out", web, "https://app.example.com:443/callback", false},
		{"http instead of https", web, "http://app.example.com/callback", false},
		{"query added", web, "https://app.example.com/callback?next=/admin", false},
		{"query reordered", web, "https://app.example.com/cb?x=1&tenant=a", false},
		{"query value changed", web, "https://app.example.com/cb?tenant=b&x=1", false},
		{"query dropped", web, "https://app.example.com/cb", false},
		{"empty query added", web, "https://app.example.com/callback?", false},
		{"fragment", web, "https://app.example.com/callback#frag", false},
		{"empty fragment", web, "https://app.example.com/callback#", false},
		{"registered with fragment still refused", []string{"https://a.example.com/cb#x"}, "https://a.example.com/cb#x", false},
		{"userinfo", web, "https://user@app.example.com/callback", false},
		{"userinfo that looks like the host", web, "https://app.example.com@evil.example/callback", false},
		{"registered with userinfo still refused", []string{"https://u:p@a.example.com/cb"}, "https://u:p@a.example.com/cb", false},
		{"suffix host", web, "https://app.example.com.evil.example/callback", false},
		{"prefix path", web, "https://app.example.com/callbackx", false},
		{"empty", web, "", false},
		{"nothing registered", nil, "https://app.example.com/callback", false},
		{"whitespace around", web, " https://app.example.com/callback", false},

		{"loopback v4 any port", native, "http://127.0.0.1:51234/oauth/cb", true},
		{"loopback v4 no port", native, "http://127.0.0.1/oauth/cb", true},
		{"loopback v4 highest port", native, "http://127.0.0.1:65535/oauth/cb", true},
		{"loopback v6 other port", native, "http://[::1]:1/done", true},
		{"loopback v6 no port", native, "http://[::1]/done", true},
		{"loopback path differs", native, "http://127.0.0.1:5000/oauth/cb/", false},
		{"loopback query added", native, "http://127.0.0.1:5000/oauth/cb?x=1", false},
		{"loopback fragment", native, "http://127.0.0.1:5000/oauth/cb#x", false},
		{"loopback https", native, "https://127.0.0.1:5000/oauth/cb", false},
		{"loopback v4 path on v6", native, "http://[::1]:5000/oauth/cb", false},
		{"loopback other v4 loopback address", native, "http://127.0.0.2:5000/oauth/cb", false},
		{"loopback v6 spelled long", native, "http://[0:0:0:0:0:0:0:1]:5000/done", false},
		{"loopback port zero", native, "http://127.0.0.1:0/oauth/cb", false},
		{"loopback port too big", native, "http://127.0.0.1:65536/oauth/cb", false},
		{"loopback port leading zero", native, "http://127.0.0.1:08080/oauth/cb", false},
		{"loopback empty port", native, "http://127.0.0.1:/oauth/cb", false},
		{"loopback port not a number", native, "http://127.0.0.1:80a/oauth/cb", false},
		{"loopback userinfo", native, "http://evil@127.0.0.1:5000/oauth/cb", false},
		{"loopback as userinfo of another host", native, "http://127.0.0.1:5000@evil.example/oauth/cb", false},
		{"loopback backslash trick", native, "http://127.0.0.1:5000\\@evil.example/oauth/cb", false},
		{"loopback host suffix", native, "http://127.0.0.1.evil.example:5000/oauth/cb", false},
		{"loopback upper-case scheme", native, "HTTP://127.0.0.1:5000/oauth/cb", false},
		{"loopback percent-encoded host", native, "http://127.0.0.%31:5000/oauth/cb", false},
		{"localhost is not any-port", local, "http://localhost:9999/cb", false},
		{"localhost exact", local, "http://localhost:8080/cb", true},
		{"localhost does not match 127.0.0.1", local, "http://127.0.0.1:8080/cb", false},
		{"127.0.0.1 does not match localhost", native, "http://localhost:5000/oauth/cb", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := client.MatchRedirect(c.registered, c.got); got != c.want {
				t.Errorf("MatchRedirect(%q, %q) = %v, want %v", c.registered, c.got, got, c.want)
			}
		})
	}
}

// Only public (native) clients get the any-port loopback rule.
func TestAllowsRedirectByClientType(t *testing.T) {
	reg := []string{"http://127.0.0.1:8080/cb"}
	public := &store.Client{Type: store.ClientPublic, RedirectURIs: reg, PostLogoutRedirectURIs: reg}
	confidential := &store.Client{Type: store.ClientConfidential, RedirectURIs: reg, PostLogoutRedirectURIs: reg}
	for _, c := range []struct {
		client *store.Client
		uri    string
		want   bool
	}{
		{public, "http://127.0.0.1:9999/cb", true},
		{public, "http://127.0.0.1:8080/cb", true},
		{confidential, "http://127.0.0.1:9999/cb", false},
		{confidential, "http://127.0.0.1:8080/cb", true},
		{confidential, "http://127.0.0.1:8080/cb#x", false},
	} {
		if got := client.AllowsRedirect(c.client, c.uri); got != c.want {
			t.Errorf("AllowsRedirect(%s, %q) = %v, want %v", c.client.Type, c.uri, got, c.want)
		}
		if got := client.AllowsPostLogoutRedirect(c.client, c.uri); got != c.want {
			t.Errorf("AllowsPostLogoutRedirect(%s, %q) = %v, want %v", c.client.Type, c.uri, got, c.want)
		}
	}
}

func TestValidateRedirectURI(t *testing.T) {
	ok := []string{
		"https://app.example.com/callback",
		"https://app.example.com",
		"https://app.example.com:8443/cb?tenant=a&x=%20y",
		"https://App.Example.com/Callback",
		"http://localhost:8080/cb",
		"http://localhost/cb",
		"http://127.0.0.1/cb",
		"http://127.0.0.1:5000/cb",
		"http://[::1]:5000/cb",
		"https://localhost/cb",
		"https://[2001:db8::1]/cb",
	}
	for _, u := range ok {
		if err := client.ValidateRedirectURI(u); err != nil {
			t.Errorf("ValidateRedirectURI(%q) = %v, want nil", u, err)
		}
	}
	bad := []struct {
		uri  string
		want string
	}{
		{"", "empty"},
		{"/callback", "absolute"},
		{"app.example.com/cb", "absolute"},
		{"https:app.example.com/cb", "absolute"},
		{"https:///cb", "not a valid"},
		{"http://app.example.com/cb", "http is only allowed on localhost"},
		{"http://127.0.0.2/cb", "http is only allowed on localhost"},
		{"http://LOCALHOST/cb", "http is only allowed on localhost"},
		{"http://localhost.evil.example/cb", "http is only allowed on localhost"},
		{"http://[0:0::1]/cb", "http is only allowed on localhost"},
		{"HTTPS://app.example.com/cb", "must use https"},
		{"com.example.app:/oauth/cb", "absolute"},
		{"com.example.app://oauth/cb", "must use https"},
		{"javascript://app.example.com/%0aalert(1)", "must use https"},
		{"ftp://app.example.com/cb", "must use https"},
		{"https://app.example.com/cb#frag", "fragment"},
		{"https://app.example.com/cb#", "fragment"},
		{"https://*.example.com/cb", "wildcards"},
		{"https://app.example.com/*", "wildcards"},
		{"https://user@app.example.com/cb", "user name or password"},
		{"https://user:pw@app.example.com/cb", "user name or password"},
		{"https://app.example.com/c b", "not allowed"},
		{"https://app.example.com/cb\n", "not allowed"},
		{"https://app.example.com\\@evil.example/cb", "not allowed"},
		{"https://app.example.com/<script>", "not allowed"},
		{"https://äpp.example.com/cb", "not allowed"},
		{"https://app.example.com:0/cb", "port"},
		{"https://app.example.com:070/cb", "port"},
		{"https://app.example.com:/cb", "empty port"},
		{"https://app.ex%61mple.com/cb", "percent-encoded"},
		{"https://app.example.com/" + strings.Repeat("a", 2000), "longer than"},
	}
	for _, c := range bad {
		err := client.ValidateRedirectURI(c.uri)
		if !errors.Is(err, client.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ValidateRedirectURI(%q) = %v, want an ErrInvalid saying %q", c.uri, err, c.want)
		}
	}
}

// FuzzMatchRedirect checks, for any registered and requested URI, that a match is
// either exact or the loopback port exception, and never lets through a fragment or a
// user name.
func FuzzMatchRedirect(f *testing.F) {
	f.Add("https://app.example.com/cb", "https://app.example.com/cb")
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb")
	f.Add("http://[::1]:80/cb?x", "http://[::1]:81/cb?x")
	f.Add("http://127.0.0.1/cb", "http://u@127.0.0.1:5000/cb")
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1:5000/cb#x")
	f.Fuzz(func(t *testing.T, registered, got string) {
		if !client.MatchRedirect([]string{registered}, got) {
			return
		}
		if strings.Contains(got, "#") {
			t.Fatalf("%q matched %q with a fragment", got, registered)
		}
		if got == registered || client.ValidateRedirectURI(registered) != nil {
			return
		}
		r, err1 := url.Parse(registered)
		g, err2 := url.Parse(got)
		if err1 != nil || err2 != nil {
			t.Fatalf("%q matched %q but they do not parse: %v, %v", got, registered, err1, err2)
		}
		if g.Scheme != "http" || g.User != nil || g.Hostname() != r.Hostname() ||
			(g.Hostname() != "127.0.0.1" && g.Hostname() != "::1") ||
			g.EscapedPath() != r.EscapedPath() || g.RawQuery != r.RawQuery {
			t.Fatalf("%q matched %q but is not the same loopback URI on another port", got, registered)
		}
	})
}
