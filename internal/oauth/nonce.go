package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// DPoP server nonces (RFC 9449 §8 for the token endpoint, §9 for userinfo). With
// Provider.DPoPNonce set, a proof must carry a nonce the server issued recently, so
// a proof made in advance (by malware that can use the key but not keep it, say)
// stops working within minutes. A nonce is an HMAC of the tenant and a time step
// under NonceKey: every node that shares the key makes and accepts the same nonces
// without storing anything, and one stays good for the step it was made in and the
// next, so from 5 to 10 minutes.
const nonceStep = 5 * time.Minute

// errUseNonce is the error code asking the client to retry with the nonce sent in
// the DPoP-Nonce header.
const errUseNonce = "use_dpop_nonce"

func useNonce(desc string) error {
	return &oidc.Error{ErrorType: errUseNonce, Description: desc}
}

// nonceFor returns the tenant's nonce of time step step.
func (p *Provider) nonceFor(tenantID string, step int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(step))
	m := hmac.New(sha256.New, p.NonceKey)
	m.Write([]byte(tenantID))
	m.Write([]byte{0})
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (p *Provider) nonceStepAt(t time.Time) int64 {
	return t.Unix() / int64(nonceStep/time.Second)
}

// currentNonce is the nonce to hand out now.
func (p *Provider) currentNonce(tenantID string) string {
	return p.nonceFor(tenantID, p.nonceStepAt(p.Now()))
}

// validNonce reports whether n is the tenant's nonce of this time step or the one
// before. Without a key no nonce is valid, so a server missing its key refuses
// proofs rather than accept nonces anyone can make.
func (p *Provider) validNonce(tenantID, n string) bool {
	if len(p.NonceKey) == 0 || n == "" || len(n) > 64 {
		return false
	}
	step := p.nonceStepAt(p.Now())
	for _, s := range []int64{step, step - 1} {
		if hmac.Equal([]byte(n), []byte(p.nonceFor(tenantID, s))) {
			return true
		}
	}
	return false
}

// checkNonce refuses a proof without a valid server nonce when nonces are required.
func (p *Provider) checkNonce(tenantID, n string) error {
	if !p.DPoPNonce || p.validNonce(tenantID, n) {
		return nil
	}
	if n == "" {
		return useNonce("this server requires a nonce in DPoP proofs: use the one in the DPoP-Nonce header")
	}
	return useNonce("the DPoP proof nonce is not valid or has expired: use the one in the DPoP-Nonce header")
}

// dpopNonces gives every response to a request that carries a DPoP proof the
// current nonce in a DPoP-Nonce header, when nonces are required: the error that
// asks for one, and each success, so a client always holds a fresh one (§8.2).
func (p *Provider) dpopNonces(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := tenantOf(r); p.DPoPNonce && t != nil && (r.Header.Get("DPoP") != "" || dpopScheme(r.Header.Get("Authorization"))) {
			w.Header().Set("DPoP-Nonce", p.currentNonce(t.ID))
		}
		next.ServeHTTP(w, r)
	})
}

// dpopScheme reports whether an Authorization header uses the DPoP scheme.
func dpopScheme(auth string) bool {
	return len(auth) >= 5 && strings.EqualFold(auth[:5], "DPoP ")
}
