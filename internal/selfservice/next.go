package selfservice

import (
	"net/url"
	"path"
	"strings"
)

// maxNext bounds a continuation path; real ones are short, and a long one would only
// bloat every link and hidden field that carries it.
const maxNext = 512

// safeNext returns raw when it is a path on tenantID's pages that is safe to send a
// browser to after a flow ends, and "" otherwise. It refuses anything that could leave
// the tenant or the origin: absolute and scheme-relative URLs, backslashes (which
// browsers read as slashes), "//" anywhere, dot segments, control and non-ASCII
// characters, fragments, and anything that does not start with "/t/{tenant}/".
func safeNext(tenantID, raw string) string {
	prefix := "/t/" + tenantID + "/"
	if raw == "" || len(raw) > maxNext || !strings.HasPrefix(raw, prefix) {
		return ""
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '\\' || c == '#' {
			return ""
		}
	}
	if strings.Contains(raw, "//") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	// Check the decoded path too: "%2e%2e" and "%2f" must not smuggle in what the raw
	// checks refused.
	p := u.Path
	if !strings.HasPrefix(p, prefix) || strings.Contains(p, "//") || strings.ContainsAny(p, "\\") {
		return ""
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return ""
		}
	}
	if c := path.Clean(p); c != p && c+"/" != p {
		return ""
	}
	return raw
}

// withNext appends next to a page path as its "next" parameter.
func withNext(to, next string) string {
	if next == "" {
		return to
	}
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	return to + sep + "next=" + url.QueryEscape(next)
}

// orDefault returns next, or the tenant's account page when next is empty.
func orDefault(tenantID, next string) string {
	if next == "" {
		return "/t/" + tenantID + "/account"
	}
	return next
}
