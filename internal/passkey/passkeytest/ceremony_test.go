package passkeytest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

const (
	testRPID   = "localhost"
	testOrigin = "http://localhost:8080"
)

// testUser is the relying party's account record.
type testUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *testUser) WebAuthnID() []byte                         { return u.id }
func (u *testUser) WebAuthnName() string                       { return "ada@example.com" }
func (u *testUser) WebAuthnDisplayName() string                { return "Ada" }
func (u *testUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// mustRelyingParty returns a go-webauthn relying party that requires user verification and resident keys.
func mustRelyingParty(t *testing.T) *webauthn.WebAuthn {
	t.Helper()
	w, err := webauthn.New(&webauthn.Config{
		RPID:          testRPID,
		RPDisplayName: "Gatehouse",
		RPOrigins:     []string{testOrigin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
	})
	if err != nil {
		t.Fatalf("webauthn.New: %v", err)
	}
	return w
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// beginRegistration starts a ceremony and parses its options the way a page's script would.
func beginRegistration(t *testing.T, w *webauthn.WebAuthn, u *testUser) (CreateOptions, webauthn.SessionData) {
	t.Helper()
	creation, session, err := w.BeginRegistration(u)
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	opts, err := ParseCreationOptions(mustJSON(t, creation))
	if err != nil {
		t.Fatalf("ParseCreationOptions: %v", err)
	}
	opts.Origin = testOrigin
	return opts, *session
}

// finishRegistration posts resp as a JSON body to go-webauthn's parser and verifier.
func finishRegistration(w *webauthn.WebAuthn, u *testUser, session webauthn.SessionData, resp *AttestationResponse) (*webauthn.Credential, error) {
	body, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	req := httptest.NewRequest("POST", "/passkeys/register", bytes.NewReader(body))
	return w.FinishRegistration(u, session, req)
}

// register creates a credential for u on a and stores it on the user, failing the test on any error.
func register(t *testing.T, w *webauthn.WebAuthn, a *Authenticator, u *testUser) *webauthn.Credential {
	t.Helper()
	opts, session := beginRegistration(t, w, u)
	resp, err := a.Create(opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	cred, err := finishRegistration(w, u, session, resp)
	if err != nil {
		t.Fatalf("FinishRegistration: %s", describe(err))
	}
	u.creds = append(u.creds, *cred)
	return cred
}

func beginLogin(t *testing.T, w *webauthn.WebAuthn) (GetOptions, webauthn.SessionData) {
	t.Helper()
	assertion, session, err := w.BeginDiscoverableLogin()
	if err != nil {
		t.Fatalf("BeginDiscoverableLogin: %v", err)
	}
	opts, err := ParseRequestOptions(mustJSON(t, assertion))
	if err != nil {
		t.Fatalf("ParseRequestOptions: %v", err)
	}
	opts.Origin = testOrigin
	return opts, *session
}

// finishLogin runs go-webauthn's discoverable login validation with a handler that looks users up by handle.
func finishLogin(w *webauthn.WebAuthn, users []*testUser, session webauthn.SessionData, resp *AssertionResponse) (webauthn.User, *webauthn.Credential, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(mustMarshal(resp)))
	if err != nil {
		return nil, nil, err
	}
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		for _, u := range users {
			if bytes.Equal(u.id, userHandle) {
				return u, nil
			}
		}
		return nil, errors.New("no such user")
	}
	return w.ValidatePasskeyLogin(handler, session, parsed)
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// describe includes go-webauthn's DevInfo, which holds the reason that Error() leaves out.
func describe(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Details + ": " + pe.DevInfo
	}
	return err.Error()
}

func TestGoWebAuthnRegistrationAndDiscoverableLogin(t *testing.T) {
	w := mustRelyingParty(t)
	a := New(Options{BackupEligible: true, BackedUp: true, AAGUID: [16]byte{0xad, 0xce}})
	u := &testUser{id: []byte("user-0001")}

	cred := register(t, w, a, u)

	stored := a.Credentials()
	if len(stored) != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", len(stored))
	}
	if !bytes.Equal(cred.ID, stored[0].ID) {
		t.Errorf("server credential ID %x, authenticator %x", cred.ID, stored[0].ID)
	}
	if !bytes.Equal(stored[0].UserHandle, u.id) || stored[0].RPID != testRPID {
		t.Errorf("stored credential = %+v, want user handle %q for %q", stored[0], u.id, testRPID)
	}
	if cred.AttestationFormat != "none" || !cred.Flags.UserVerified || !cred.Flags.BackupEligible || !cred.Flags.BackupState {
		t.Errorf("credential format %q flags %+v, want none with UV, BE and BS", cred.AttestationFormat, cred.Flags)
	}
	if !bytes.Equal(cred.Authenticator.AAGUID, []byte{0xad, 0xce, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("AAGUID = %x", cred.Authenticator.AAGUID)
	}
	if cred.Authenticator.Attachment != protocol.Platform {
		t.Errorf("attachment = %q, want platform", cred.Authenticator.Attachment)
	}

	for want := uint32(1); want <= 2; want++ {
		opts, session := beginLogin(t, w)
		resp, err := a.Get(opts)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		user, got, err := finishLogin(w, []*testUser{u}, session, resp)
		if err != nil {
			t.Fatalf("login %d: %s", want, describe(err))
		}
		if user.(*testUser) != u {
			t.Errorf("login resolved user %q, want %q", user.WebAuthnID(), u.id)
		}
		if got.Authenticator.SignCount != want || got.Authenticator.CloneWarning {
			t.Errorf("login %d: sign count %d clone warning %v", want, got.Authenticator.SignCount, got.Authenticator.CloneWarning)
		}
		u.creds[0] = *got
	}
	if n := a.Credentials()[0].SignCount; n != 2 {
		t.Errorf("authenticator sign count = %d, want 2", n)
	}
}

func TestGoWebAuthnLoginWithAllowCredentials(t *testing.T) {
	w := mustRelyingParty(t)
	a := New(Options{})
	alice := &testUser{id: []byte("alice")}
	bob := &testUser{id: []byte("bob")}
	register(t, w, a, alice)
	register(t, w, a, bob)

	assertion, session, err := w.BeginLogin(alice)
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	opts, err := ParseRequestOptions(mustJSON(t, assertion))
	if err != nil {
		t.Fatalf("ParseRequestOptions: %v", err)
	}
	opts.Origin = testOrigin
	// Bob's credential is the most recent, so only the allow list makes Alice's answer.
	resp, err := a.Get(opts)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(mustMarshal(resp)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if _, err := w.ValidateLogin(alice, *session, parsed); err != nil {
		t.Fatalf("ValidateLogin: %s", describe(err))
	}
}

func TestGoWebAuthnRejectsForgedRegistration(t *testing.T) {
	evilHash := sha256.Sum256([]byte("evil.example"))
	tests := []struct {
		name    string
		options Options
		forge   func(*CreateOptions)
		want    string // substring of go-webauthn's details or debug info
	}{
		{"wrong origin", Options{}, func(o *CreateOptions) { o.OriginOverride = "https://evil.example" }, "Error validating origin"},
		{"wrong rpIdHash", Options{}, func(o *CreateOptions) { o.RPIDHashOverride = evilHash[:] }, "RP Hash mismatch"},
		{"user not verified", Options{}, func(o *CreateOptions) { o.NoUserVerification = true }, "User verification required"},
		{"authenticator without UV", Options{NoUserVerification: true}, func(*CreateOptions) {}, "User verification required"},
		{"get type in create", Options{}, func(o *CreateOptions) { o.ClientDataType = "webauthn.get" }, "Error validating ceremony type"},
		{"cross origin", Options{}, func(o *CreateOptions) { o.CrossOrigin = true }, "cross origin"},
		{"other challenge", Options{}, func(o *CreateOptions) { o.Challenge = bytes.Repeat([]byte{7}, 32) }, "Error validating challenge"},
		{"backed up but not eligible", Options{BackedUp: true}, func(*CreateOptions) {}, "Backup State Flag is true but Backup Eligible flag is false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustRelyingParty(t)
			u := &testUser{id: []byte("user-0001")}
			opts, session := beginRegistration(t, w, u)
			tt.forge(&opts)
			resp, err := New(tt.options).Create(opts)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			_, err = finishRegistration(w, u, session, resp)
			if err == nil {
				t.Fatal("FinishRegistration accepted a forged response")
			}
			if got := describe(err); !strings.Contains(got, tt.want) {
				t.Errorf("error = %q, want it to mention %q", got, tt.want)
			}
		})
	}
}

func TestGoWebAuthnRejectsForgedLogin(t *testing.T) {
	evilHash := sha256.Sum256([]byte("evil.example"))
	// forge changes the request; tamper rewrites the response using a second, honest assertion for another challenge.
	tests := []struct {
		name   string
		forge  func(*GetOptions)
		tamper func(t *testing.T, a *Authenticator, resp *AssertionResponse)
		want   string
	}{
		{name: "wrong origin", forge: func(o *GetOptions) { o.OriginOverride = "https://evil.example" }, want: "Error validating origin"},
		{name: "wrong rpIdHash", forge: func(o *GetOptions) { o.RPIDHashOverride = evilHash[:] }, want: "RP Hash mismatch"},
		{name: "user not verified", forge: func(o *GetOptions) { o.NoUserVerification = true }, want: "User verification required"},
		{name: "create type in get", forge: func(o *GetOptions) { o.ClientDataType = "webauthn.create" }, want: "Error validating ceremony type"},
		{name: "cross origin", forge: func(o *GetOptions) { o.CrossOrigin = true }, want: "cross origin"},
		{name: "replayed from an earlier ceremony", forge: func(o *GetOptions) { o.Challenge = bytes.Repeat([]byte{7}, 32) }, want: "Error validating challenge"},
		{
			name: "signature over other clientData",
			tamper: func(t *testing.T, a *Authenticator, resp *AssertionResponse) {
				other, err := a.Get(GetOptions{RPID: testRPID, Origin: testOrigin, Challenge: bytes.Repeat([]byte{7}, 32)})
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				// Keep this ceremony's clientDataJSON, which passes the challenge check, but the other signature.
				resp.Response.AuthenticatorData = other.Response.AuthenticatorData
				resp.Response.Signature = other.Response.Signature
			},
			want: "Error validating the assertion signature",
		},
		{
			name: "backed up but not eligible",
			tamper: func(t *testing.T, a *Authenticator, resp *AssertionResponse) {
				a.SetBackupState(false, true)
				opts := GetOptions{RPID: testRPID, Origin: testOrigin, Challenge: mustChallenge(t, resp)}
				fresh, err := a.Get(opts)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				*resp = *fresh
			},
			want: "Backup State Flag is true but Backup Eligible flag is false",
		},
		{
			name: "backup eligibility changed",
			tamper: func(t *testing.T, a *Authenticator, resp *AssertionResponse) {
				a.SetBackupState(true, false)
				fresh, err := a.Get(GetOptions{RPID: testRPID, Origin: testOrigin, Challenge: mustChallenge(t, resp)})
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				*resp = *fresh
			},
			want: "Backup Eligible flag inconsistency",
		},
		{
			name:   "credential type",
			tamper: func(_ *testing.T, _ *Authenticator, resp *AssertionResponse) { resp.Type = "password" },
			want:   "bad type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustRelyingParty(t)
			a := New(Options{})
			u := &testUser{id: []byte("user-0001")}
			register(t, w, a, u)

			opts, session := beginLogin(t, w)
			if tt.forge != nil {
				tt.forge(&opts)
			}
			resp, err := a.Get(opts)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if tt.tamper != nil {
				tt.tamper(t, a, resp)
			}
			_, _, err = finishLogin(w, []*testUser{u}, session, resp)
			if err == nil {
				t.Fatal("login accepted a forged response")
			}
			if got := describe(err); !strings.Contains(got, tt.want) {
				t.Errorf("error = %q, want it to mention %q", got, tt.want)
			}
		})
	}
}

// mustChallenge recovers the challenge from a response's clientDataJSON.
func mustChallenge(t *testing.T, resp *AssertionResponse) []byte {
	t.Helper()
	var cd struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(resp.Response.ClientDataJSON, &cd); err != nil {
		t.Fatalf("clientDataJSON: %v", err)
	}
	b, err := decodeBase64URL(cd.Challenge)
	if err != nil {
		t.Fatalf("challenge: %v", err)
	}
	return b
}

// go-webauthn does not fail a login whose counter went backwards; it sets CloneWarning and leaves the decision to us.
func TestGoWebAuthnFlagsCounterRegression(t *testing.T) {
	w := mustRelyingParty(t)
	a := New(Options{})
	u := &testUser{id: []byte("user-0001")}
	register(t, w, a, u)

	login := func(signCount *uint32) *webauthn.Credential {
		t.Helper()
		opts, session := beginLogin(t, w)
		opts.SignCount = signCount
		resp, err := a.Get(opts)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		_, cred, err := finishLogin(w, []*testUser{u}, session, resp)
		if err != nil {
			t.Fatalf("login: %s", describe(err))
		}
		return cred
	}
	u.creds[0] = *login(nil)
	u.creds[0] = *login(nil)

	stale := uint32(1)
	cred := login(&stale)
	if !cred.Authenticator.CloneWarning {
		t.Errorf("counter %d after %d: CloneWarning not set", stale, u.creds[0].Authenticator.SignCount)
	}
	if n := a.Credentials()[0].SignCount; n != 2 {
		t.Errorf("SignCount override advanced the stored counter to %d", n)
	}
}
