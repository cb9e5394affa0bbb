package oauth

import (
	"testing"
	"time"
)

// TestNonceBelongsToItsTenantAndKey checks that a DPoP nonce is good only for the
// tenant it was made for, and only under the key that made it.
func TestNonceBelongsToItsTenantAndKey(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	p := &Provider{Now: clock, DPoPNonce: true, NonceKey: []byte("0123456789abcdef0123456789abcdef")}
	other := &Provider{Now: clock, DPoPNonce: true, NonceKey: []byte("another key, not the server's one")}
	n := p.currentNonce("alpha")
	switch {
	case !p.validNonce("alpha", n):
		t.Error("a tenant's own nonce is refused")
	case p.validNonce("beta", n):
		t.Error("a nonce of tenant alpha is accepted for tenant beta")
	case p.validNonce("alpha", other.currentNonce("alpha")):
		t.Error("a nonce made under another key is accepted")
	case (&Provider{Now: clock, DPoPNonce: true}).validNonce("alpha", (&Provider{Now: clock}).currentNonce("alpha")):
		t.Error("a server without a nonce key accepts a nonce")
	}
}
