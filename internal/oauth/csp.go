package oauth

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/web"
)

// allowFormTo lets the page's forms end at the origin of uri as well as our own.
// Browsers apply form-action to the redirects that follow a form post too, so a
// page whose form Gatehouse answers with a redirect to the client (consent, the
// confirmed sign-out) must name the client's origin, or the browser stops there.
// uri is a redirect URI already matched against the client's registration.
func allowFormTo(w http.ResponseWriter, uri string) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return
	}
	w.Header().Set("Content-Security-Policy", web.CSP(u.Scheme+"://"+u.Host))
}
