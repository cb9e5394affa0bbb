package passkey_test

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func hash(v string) string { return secret.Hash(v) }

type httpCookie = http.Cookie

func newUser(email string) user.NewUser { return user.NewUser{Email: email, EmailVerified: true} }
