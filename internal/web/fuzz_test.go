package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzResolve checks that no X-Forwarded-For value makes the resolver return
// an address the header did not contain, or believe the header of an
// untrusted peer.
func FuzzResolve(f *testing.F) {
	for _, seed := range []string{"", "198.51.100.1", "6.6.6.6, 198.51.100.1, 10.0.0.9", ",,", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4:80"} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	res, err := NewIPResolver([]string{"10.0.0.0/8"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, xff string, trustedPeer bool) {
		peer := "203.0.113.1"
		if trustedPeer {
			peer = "10.0.0.1"
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer + ":1"
		r.Header.Set("X-Forwarded-For", xff)
		got := res.Resolve(r).String()
		if got == peer {
			return
		}
		if !trustedPeer {
			t.Fatalf("untrusted peer's header chose %s", got)
		}
		found := false
		for _, hop := range strings.Split(xff, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(hop)); err == nil && a.Unmap().WithZone("").String() == got {
				found = true
			}
		}
		if !found {
			t.Fatalf("resolved %s, which is not in %q", got, xff)
		}
	})
}

// FuzzParseForm checks that any body yields either a parsed form or a 4xx
// *web.Error, never a panic or a 5xx.
func FuzzParseForm(f *testing.F) {
	for _, seed := range []string{"a=b", "%ff=%fe", "a=%zz", "a;b=c", strings.Repeat("a=b&", 100)} {
		f.Add(seed, "q=1")
	}
	f.Fuzz(func(t *testing.T, body, query string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		err := ParseForm(httptest.NewRecorder(), r)
		if err == nil {
			return
		}
		var we *Error
		if !errors.As(err, &we) || we.Status < 400 || we.Status > 499 || we.Message == "" {
			t.Fatalf("ParseForm error %v is not a 4xx *web.Error", err)
		}
		if we.Status != http.StatusBadRequest && we.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("unexpected status %d", we.Status)
		}
	})
}
