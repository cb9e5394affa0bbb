package client

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// maxURILen bounds a redirect URI, registered or requested.
const maxURILen = 2000

// MatchRedirect reports whether got is one of the registered redirect URIs. A match
// is byte-for-byte equality: no case folding, no trailing-slash or percent-encoding
// leniency, and the query must be the same. The one exception is RFC 8252 §7.3: a
// registered loopback IP literal (http://127.0.0.1 or http://[::1]) matches the same
// URI on any port, because a native app listens on whatever port is free. The name
// localhost is not an exception: it can resolve elsewhere, so its port must match.
// A URI with a fragment or with a user name in it never matches.
func MatchRedirect(registered []string, got string) bool {
	if got == "" || len(got) > maxURILen || strings.Contains(got, "#") {
		return false
	}
	_, auth, _, ok := splitURI(got)
	if !ok || strings.Contains(auth, "@") {
		return false
	}
	for _, r := range registered {
		if r == got {
			return true
		}
	}
	gotHost, gotRest, ok := loopback(got)
	if !ok {
		return false
	}
	for _, r := range registered {
		if host, rest, ok := loopback(r); ok && host == gotHost && rest == gotRest {
			return true
		}
	}
	return false
}

// splitURI cuts "scheme://authority/rest" into its parts without normalizing anything,
// so what is compared is what the client sent.
func splitURI(s string) (scheme, authority, rest string, ok bool) {
	scheme, after, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return "", "", "", false
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		end = len(after)
	}
	return scheme, after[:end], after[end:], true
}

// loopback returns the host and the part after the authority of an http URI on a
// loopback IP literal, written exactly as "127.0.0.1" or "[::1]" with an optional
// canonical port (1-65535, no leading zero).
func loopback(s string) (host, rest string, ok bool) {
	scheme, auth, rest, ok := splitURI(s)
	if !ok || scheme != "http" {
		return "", "", false
	}
	for _, h := range []string{"127.0.0.1", "[::1]"} {
		port, found := strings.CutPrefix(auth, h)
		if !found {
			continue
		}
		if port == "" {
			return h, rest, true
		}
		port, found = strings.CutPrefix(port, ":")
		if found && canonicalPort(port) {
			return h, rest, true
		}
	}
	return "", "", false
}

func canonicalPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// uriChar reports whether c may appear in a registered URI: RFC 3986's unreserved,
// reserved and percent characters, less "*" (no wildcards) and "#" (no fragments),
// which ValidateRedirectURI refuses with their own messages.
func uriChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?[]@!$&'()+,;=%", c) >= 0
}

// ValidateRedirectURI checks a redirect URI (or post-logout redirect URI) before it is
// registered: absolute; https, or http only on localhost, 127.0.0.1 or [::1]; no
// fragment, no user name or password, no wildcard. Its error is safe to show.
func ValidateRedirectURI(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty redirect URI", ErrInvalid)
	case len(s) > maxURILen:
		return fmt.Errorf("%w: redirect URI longer than %d characters", ErrInvalid, maxURILen)
	case strings.Contains(s, "*"):
		return fmt.Errorf("%w: redirect URI %q: wildcards are not allowed, register every URI exactly", ErrInvalid, s)
	case strings.Contains(s, "#"):
		return fmt.Errorf("%w: redirect URI %q must not contain a fragment (#)", ErrInvalid, s)
	}
	for i := 0; i < len(s); i++ {
		if !uriChar(s[i]) {
			return fmt.Errorf("%w: redirect URI %q: character %q is not allowed (percent-encode it)", ErrInvalid, s, s[i])
		}
	}
	scheme, auth, _, ok := splitURI(s)
	if !ok {
		return fmt.Errorf("%w: redirect URI %q must be an absolute URL (https://…)", ErrInvalid, s)
	}
	if scheme != "https" && scheme != "http" {
		return fmt.Errorf("%w: redirect URI %q must use https (or http on localhost, 127.0.0.1 or [::1])", ErrInvalid, s)
	}
	if strings.Contains(auth, "@") {
		return fmt.Errorf("%w: redirect URI %q must not contain a user name or password", ErrInvalid, s)
	}
	if strings.Contains(auth, "%") {
		return fmt.Errorf("%w: redirect URI %q: the host must not be percent-encoded", ErrInvalid, s)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return fmt.Errorf("%w: redirect URI %q is not a valid absolute URL", ErrInvalid, s)
	}
	if u.Port() != "" && !canonicalPort(u.Port()) {
		return fmt.Errorf("%w: redirect URI %q: port must be a number from 1 to 65535 without leading zeros", ErrInvalid, s)
	}
	if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%w: redirect URI %q: empty port", ErrInvalid, s)
	}
	if scheme == "http" {
		switch auth[:len(auth)-len(portSuffix(u))] {
		case "localhost", "127.0.0.1", "[::1]":
		default:
			return fmt.Errorf("%w: redirect URI %q: http is only allowed on localhost, 127.0.0.1 or [::1]; use https", ErrInvalid, s)
		}
	}
	return nil
}

// portSuffix returns ":port" when u has a port, so the host can be compared as written.
func portSuffix(u *url.URL) string {
	if u.Port() == "" {
		return ""
	}
	return ":" + u.Port()
}
