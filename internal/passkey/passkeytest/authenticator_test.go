package passkeytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
)

var testChallenge = []byte("0123456789abcdef")

func mustCreate(t *testing.T, a *Authenticator, opts CreateOptions) *AttestationResponse {
	t.Helper()
	resp, err := a.Create(opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return resp
}

func TestCreateValidatesLikeABrowser(t *testing.T) {
	tests := []struct {
		name string
		opts CreateOptions
		want error
	}{
		{"no challenge", CreateOptions{Origin: testOrigin}, ErrInvalidOptions},
		{"no origin", CreateOptions{Challenge: testChallenge}, ErrInvalidOptions},
		{"origin without host", CreateOptions{Origin: "localhost", Challenge: testChallenge}, ErrInvalidOptions},
		{"rpId of another site", CreateOptions{RPID: "example.com", Origin: testOrigin, Challenge: testChallenge}, ErrRPIDMismatch},
		{"rpId of a subdomain", CreateOptions{RPID: "login.example.com", Origin: "https://example.com", Challenge: testChallenge}, ErrRPIDMismatch},
		{"rpId sharing a suffix", CreateOptions{RPID: "ample.com", Origin: "https://example.com", Challenge: testChallenge}, ErrRPIDMismatch},
		{"parent domain rpId", CreateOptions{RPID: "example.com", Origin: "https://login.example.com", Challenge: testChallenge}, nil},
		{"rpId from origin", CreateOptions{Origin: testOrigin, Challenge: testChallenge}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{}).Create(tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("Create error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCreateReplacesCredentialForSameUser(t *testing.T) {
	a := New(Options{})
	first := mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("alice")})
	mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("bob")})
	third := mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("alice")})
	mustCreate(t, a, CreateOptions{Origin: "https://other.example", Challenge: testChallenge, UserHandle: []byte("alice")})

	var ids [][]byte
	for _, c := range a.Credentials() {
		ids = append(ids, c.ID)
	}
	if len(ids) != 3 {
		t.Fatalf("holds %d credentials, want 3 (bob and alice for localhost, alice for other.example)", len(ids))
	}
	if bytes.Equal(ids[0], first.RawID) || bytes.Equal(ids[1], first.RawID) {
		t.Error("first credential for alice@localhost was not replaced")
	}
	if !bytes.Equal(ids[1], third.RawID) {
		t.Error("replacement credential missing")
	}
}

func TestCreateHonoursExcludeCredentials(t *testing.T) {
	a := New(Options{})
	resp := mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("alice")})

	_, err := a.Create(CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("alice"), ExcludeCredentials: [][]byte{resp.RawID}})
	if !errors.Is(err, ErrCredentialExcluded) {
		t.Errorf("Create with own credential excluded: error = %v, want ErrCredentialExcluded", err)
	}
	// The same ID under another rpId is a different credential as far as the browser is concerned.
	if _, err := a.Create(CreateOptions{Origin: "https://other.example", Challenge: testChallenge, ExcludeCredentials: [][]byte{resp.RawID}}); err != nil {
		t.Errorf("Create for another rpId: %v", err)
	}
}

func TestGetSelectsCredential(t *testing.T) {
	a := New(Options{})
	alice := mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("alice")})
	bob := mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("bob")})
	mustCreate(t, a, CreateOptions{Origin: "https://other.example", Challenge: testChallenge, UserHandle: []byte("carol")})

	tests := []struct {
		name    string
		opts    GetOptions
		want    []byte
		wantErr error
	}{
		{name: "discoverable picks most recent", opts: GetOptions{}, want: bob.RawID},
		{name: "discoverable with chosen credential", opts: GetOptions{CredentialID: alice.RawID}, want: alice.RawID},
		{name: "allow list", opts: GetOptions{AllowCredentials: [][]byte{alice.RawID, []byte("unknown")}}, want: alice.RawID},
		{name: "allow list without a match", opts: GetOptions{AllowCredentials: [][]byte{[]byte("unknown")}}, wantErr: ErrNoCredential},
		{name: "chosen credential outside allow list", opts: GetOptions{AllowCredentials: [][]byte{alice.RawID}, CredentialID: bob.RawID}, wantErr: ErrNoCredential},
		{name: "credential of another rpId", opts: GetOptions{Origin: "https://other.example", CredentialID: alice.RawID}, wantErr: ErrNoCredential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Challenge = testChallenge
			if tt.opts.Origin == "" {
				tt.opts.Origin = testOrigin
			}
			resp, err := a.Get(tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Get error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(resp.RawID, tt.want) {
				t.Errorf("answered with %x, want %x", resp.RawID, tt.want)
			}
		})
	}
}

func TestGetAuthenticatorData(t *testing.T) {
	override := sha256.Sum256([]byte("evil.example"))
	zero := uint32(0)
	tests := []struct {
		name      string
		options   Options
		get       GetOptions
		wantHash  []byte
		wantFlags byte
		wantCount uint32
	}{
		{name: "defaults", wantFlags: flagUP | flagUV, wantCount: 1},
		{name: "synced passkey", options: Options{BackupEligible: true, BackedUp: true}, wantFlags: flagUP | flagUV | flagBE | flagBS, wantCount: 1},
		{name: "authenticator without UV", options: Options{NoUserVerification: true}, wantFlags: flagUP, wantCount: 1},
		{name: "UV cleared for one ceremony", get: GetOptions{NoUserVerification: true}, wantFlags: flagUP, wantCount: 1},
		{name: "counter override", get: GetOptions{SignCount: &zero}, wantFlags: flagUP | flagUV, wantCount: 0},
		{name: "rpIdHash override", get: GetOptions{RPIDHashOverride: override[:]}, wantHash: override[:], wantFlags: flagUP | flagUV, wantCount: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(tt.options)
			mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("alice")})
			tt.get.Origin, tt.get.Challenge = testOrigin, testChallenge
			resp, err := a.Get(tt.get)
			if err != nil {
				t.Fatal(err)
			}
			ad := resp.Response.AuthenticatorData
			if len(ad) != 37 {
				t.Fatalf("authenticator data is %d bytes, want 37", len(ad))
			}
			wantHash := tt.wantHash
			if wantHash == nil {
				sum := sha256.Sum256([]byte(testRPID))
				wantHash = sum[:]
			}
			if !bytes.Equal(ad[:32], wantHash) {
				t.Errorf("rpIdHash = %x, want %x", ad[:32], wantHash)
			}
			if ad[32] != tt.wantFlags {
				t.Errorf("flags = %08b, want %08b", ad[32], tt.wantFlags)
			}
			if got := binary.BigEndian.Uint32(ad[33:]); got != tt.wantCount {
				t.Errorf("signCount = %d, want %d", got, tt.wantCount)
			}
		})
	}
}

// Handlers under test may share one authenticator, so concurrent ceremonies must not lose counter updates.
func TestConcurrentUse(t *testing.T) {
	a := New(Options{})
	alice := mustCreate(t, a, CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte("alice")})

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := a.Get(GetOptions{Origin: testOrigin, Challenge: testChallenge, CredentialID: alice.RawID}); err != nil {
				t.Error(err)
			}
			if i%5 == 0 {
				if _, err := a.Create(CreateOptions{Origin: testOrigin, Challenge: testChallenge, UserHandle: []byte{byte(i)}}); err != nil {
					t.Error(err)
				}
				_ = a.Credentials()
			}
		})
	}
	wg.Wait()
	if got := a.Credentials()[0].SignCount; got != n {
		t.Errorf("sign count after %d assertions = %d", n, got)
	}
}
