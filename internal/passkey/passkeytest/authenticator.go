// Package passkeytest is a software WebAuthn authenticator and client for tests.
//
// It produces real "none" attestations and ES256 (P-256) assertions, serialised the way a
// browser's PublicKeyCredential.toJSON() does, so server tests can drive passkey ceremonies
// over HTTP without a browser. Test knobs on CreateOptions and GetOptions forge the parts a
// relying party must check (origin, rpIdHash, flags, signature counter) for negative tests.
//
// It is for tests only: private keys live in memory and nothing is protected.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Sentinel errors returned by the authenticator, mirroring the DOMExceptions a browser would raise.
var (
	// ErrNoCredential means no stored credential matched the rpId and allow list (NotAllowedError in a browser).
	ErrNoCredential = errors.New("passkeytest: no matching credential")
	// ErrCredentialExcluded means a credential in excludeCredentials already exists on this authenticator (InvalidStateError).
	ErrCredentialExcluded = errors.New("passkeytest: authenticator already holds an excluded credential")
	// ErrUnsupportedAlgorithm means pubKeyCredParams did not offer ES256 (NotSupportedError).
	ErrUnsupportedAlgorithm = errors.New("passkeytest: ES256 not offered in pubKeyCredParams")
	// ErrRPIDMismatch means the rpId is not the origin's host or a parent domain of it (SecurityError).
	ErrRPIDMismatch = errors.New("passkeytest: rpId is not a registrable suffix of the origin")
	// ErrInvalidOptions means the ceremony options lacked something a browser requires, such as a challenge.
	ErrInvalidOptions = errors.New("passkeytest: invalid ceremony options")
)

// Authenticator flag bits (WebAuthn Level 3 §6.1 "flags").
const (
	flagUP byte = 1 << 0 // user present
	flagUV byte = 1 << 2 // user verified
	flagBE byte = 1 << 3 // backup eligible
	flagBS byte = 1 << 4 // backup state
	flagAT byte = 1 << 6 // attested credential data included
)

// coseAlgES256 is the COSE algorithm identifier for ECDSA with SHA-256 on P-256.
const coseAlgES256 = -7

// Options configures an Authenticator.
type Options struct {
	// AAGUID identifies the authenticator model in attested credential data; zero means an unknown model.
	AAGUID [16]byte
	// BackupEligible sets the BE flag: the credential may be synced to other devices.
	BackupEligible bool
	// BackedUp sets the BS flag: the credential is currently backed up.
	// Setting it without BackupEligible produces the invalid BE=0/BS=1 combination relying parties must reject.
	BackedUp bool
	// NoUserVerification clears the UV flag on every ceremony.
	// The zero value verifies the user, as a platform authenticator with a PIN or biometric does.
	NoUserVerification bool
	// Rand supplies credential IDs; nil means crypto/rand.
	// Key generation and signing always use the standard library's secure source,
	// which since Go 1.26 ignores caller-supplied readers (see testing/cryptotest.SetGlobalRandom).
	Rand io.Reader
}

// Credential is a discoverable (resident) credential held by an Authenticator.
type Credential struct {
	// ID is the credential ID the relying party stores.
	ID []byte
	// Key is the ES256 private key; the relying party holds the matching public key.
	Key *ecdsa.PrivateKey
	// RPID is the relying party ID the credential is scoped to.
	RPID string
	// UserHandle is user.id from the creation options, returned as userHandle in assertions.
	UserHandle []byte
	// SignCount is the signature counter of the last assertion; registration starts it at zero.
	SignCount uint32
}

// clone returns a copy that shares only the private key, so callers cannot mutate stored state.
func (c *Credential) clone() Credential {
	return Credential{
		ID:         bytes.Clone(c.ID),
		Key:        c.Key,
		RPID:       c.RPID,
		UserHandle: bytes.Clone(c.UserHandle),
		SignCount:  c.SignCount,
	}
}

// Authenticator is an in-memory platform authenticator paired with the client that talks to it.
// It is safe for concurrent use, so HTTP handlers under test may share one.
type Authenticator struct {
	aaguid [16]byte
	noUV   bool
	rand   io.Reader

	mu     sync.Mutex
	be, bs bool
	creds  []*Credential // in creation order; the last one for an rpId is the most recent
}

// New returns an Authenticator with no credentials.
func New(opts Options) *Authenticator {
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	return &Authenticator{
		aaguid: opts.AAGUID,
		noUV:   opts.NoUserVerification,
		rand:   r,
		be:     opts.BackupEligible,
		bs:     opts.BackedUp,
	}
}

// Credentials returns copies of the stored credentials, oldest first, across all rpIds.
func (a *Authenticator) Credentials() []Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Credential, 0, len(a.creds))
	for _, c := range a.creds {
		out = append(out, c.clone())
	}
	return out
}

// SetBackupState changes the BE and BS flags sent from now on.
// It models a passkey that becomes synced after registration, or a faulty authenticator whose BE flag changes.
func (a *Authenticator) SetBackupState(eligible, backedUp bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.be, a.bs = eligible, backedUp
}

// flags returns the flag byte for a ceremony, without AT; the caller holds mu.
func (a *Authenticator) flags(noUV bool) byte {
	f := flagUP
	if !a.noUV && !noUV {
		f |= flagUV
	}
	if a.be {
		f |= flagBE
	}
	if a.bs {
		f |= flagBS
	}
	return f
}

// resolveRPID returns the rpId a browser would use for origin, and checks it is allowed.
// A browser accepts an rpId equal to the origin's host or to a parent domain of it;
// the public suffix list is not consulted here.
func resolveRPID(rpID, origin string) (string, error) {
	if origin == "" {
		return "", fmt.Errorf("%w: origin is required", ErrInvalidOptions)
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: origin %q is not a URL with a host", ErrInvalidOptions, origin)
	}
	host := strings.ToLower(u.Hostname())
	if rpID == "" {
		return host, nil
	}
	id := strings.ToLower(rpID)
	if host != id && !strings.HasSuffix(host, "."+id) {
		return "", fmt.Errorf("%w: rpId %q, origin %q", ErrRPIDMismatch, rpID, origin)
	}
	return rpID, nil
}

// rpIDHash returns the override when set, and SHA-256 of rpID otherwise.
func rpIDHash(rpID string, override []byte) []byte {
	if override != nil {
		return bytes.Clone(override)
	}
	sum := sha256.Sum256([]byte(rpID))
	return sum[:]
}

// findCredential picks the credential for an assertion; the caller holds mu.
// With an allow list it behaves like a browser given allowCredentials; without one it is a discoverable login.
func (a *Authenticator) findCredential(rpID string, allow [][]byte, id []byte) (*Credential, error) {
	for _, c := range slices.Backward(a.creds) {
		if c.RPID != rpID {
			continue
		}
		if id != nil && !bytes.Equal(c.ID, id) {
			continue
		}
		if len(allow) > 0 && !slices.ContainsFunc(allow, func(x []byte) bool { return bytes.Equal(x, c.ID) }) {
			continue
		}
		return c, nil
	}
	return nil, ErrNoCredential
}
