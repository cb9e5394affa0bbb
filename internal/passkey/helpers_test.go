package passkey_test

import (
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/secret"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func hash(v string) string { return secret.Hash(v) }
