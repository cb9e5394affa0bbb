package passkeytest

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseCreationOptionsFromGoWebAuthn(t *testing.T) {
	w := mustRelyingParty(t)
	u := &testUser{id: []byte("user-0001")}
	creation, session, err := w.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	// Pages may send either the wrapper go-webauthn marshals or just the inner options.
	for name, doc := range map[string][]byte{
		"wrapped": mustJSON(t, creation),
		"raw":     mustJSON(t, creation.Response),
	} {
		t.Run(name, func(t *testing.T) {
			opts, err := ParseCreationOptions(doc)
			if err != nil {
				t.Fatal(err)
			}
			if opts.RPID != testRPID || !bytes.Equal(opts.UserHandle, u.id) || !bytes.Equal(opts.Challenge, creation.Response.Challenge) {
				t.Errorf("got rpId %q user %q challenge %x; want %q %q %s", opts.RPID, opts.UserHandle, opts.Challenge, testRPID, u.id, session.Challenge)
			}
		})
	}
}

func TestParseRequestOptionsFromGoWebAuthn(t *testing.T) {
	w := mustRelyingParty(t)
	a := New(Options{})
	u := &testUser{id: []byte("user-0001")}
	cred := register(t, w, a, u)
	assertion, _, err := w.BeginLogin(u)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string][]byte{
		"wrapped": mustJSON(t, assertion),
		"raw":     mustJSON(t, assertion.Response),
	} {
		t.Run(name, func(t *testing.T) {
			opts, err := ParseRequestOptions(doc)
			if err != nil {
				t.Fatal(err)
			}
			if opts.RPID != testRPID || !bytes.Equal(opts.Challenge, assertion.Response.Challenge) {
				t.Errorf("got rpId %q challenge %x", opts.RPID, opts.Challenge)
			}
			if len(opts.AllowCredentials) != 1 || !bytes.Equal(opts.AllowCredentials[0], cred.ID) {
				t.Errorf("allowCredentials = %x, want [%x]", opts.AllowCredentials, cred.ID)
			}
		})
	}
}

func TestParseCreationOptions(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    CreateOptions
		wantErr error
	}{
		{
			name: "minimal",
			in:   `{"rp":{"name":"G"},"user":{"id":"dQ","name":"u"},"challenge":"AAEC"}`,
			want: CreateOptions{Challenge: []byte{0, 1, 2}, UserHandle: []byte("u")},
		},
		{
			name: "exclude list keeps public-key descriptors only",
			in: `{"rp":{"id":"example.com"},"user":{"id":"dQ"},"challenge":"AAEC","pubKeyCredParams":[{"type":"public-key","alg":-257},{"type":"public-key","alg":-7}],
				"excludeCredentials":[{"type":"public-key","id":"AQ"},{"type":"other","id":"Ag"}]}`,
			want: CreateOptions{RPID: "example.com", Challenge: []byte{0, 1, 2}, UserHandle: []byte("u"), ExcludeCredentials: [][]byte{{1}}},
		},
		{name: "publicKey null falls back to raw", in: `{"publicKey":null,"user":{"id":"dQ"},"challenge":"AAEC"}`, want: CreateOptions{Challenge: []byte{0, 1, 2}, UserHandle: []byte("u")}},
		{name: "no ES256", in: `{"user":{"id":"dQ"},"challenge":"AAEC","pubKeyCredParams":[{"type":"public-key","alg":-257}]}`, wantErr: ErrUnsupportedAlgorithm},
		{name: "no challenge", in: `{"user":{"id":"dQ"}}`, wantErr: ErrInvalidOptions},
		{name: "empty challenge", in: `{"user":{"id":"dQ"},"challenge":""}`, wantErr: ErrInvalidOptions},
		{name: "no user id", in: `{"user":{"name":"u"},"challenge":"AAEC"}`, wantErr: ErrInvalidOptions},
		{name: "user id not base64url", in: `{"user":{"id":"alice@example.com"},"challenge":"AAEC"}`, wantErr: ErrInvalidOptions},
		{name: "challenge as byte array", in: `{"user":{"id":"dQ"},"challenge":[1,2]}`, wantErr: ErrInvalidOptions},
		{name: "not an object", in: `[]`, wantErr: ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCreationOptions([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.RPID != tt.want.RPID || !bytes.Equal(got.Challenge, tt.want.Challenge) || !bytes.Equal(got.UserHandle, tt.want.UserHandle) ||
				!equalIDs(got.ExcludeCredentials, tt.want.ExcludeCredentials) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRequestOptions(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    GetOptions
		wantErr error
	}{
		{name: "discoverable", in: `{"challenge":"AAEC","userVerification":"required"}`, want: GetOptions{Challenge: []byte{0, 1, 2}}},
		{name: "wrapped with allow list", in: `{"publicKey":{"rpId":"localhost","challenge":"AAEC","allowCredentials":[{"type":"public-key","id":"AQ=="}]},"mediation":"conditional"}`,
			want: GetOptions{RPID: "localhost", Challenge: []byte{0, 1, 2}, AllowCredentials: [][]byte{{1}}}},
		{name: "no challenge", in: `{"rpId":"localhost"}`, wantErr: ErrInvalidOptions},
		{name: "bad credential id", in: `{"challenge":"AAEC","allowCredentials":[{"type":"public-key","id":"*"}]}`, wantErr: ErrInvalidOptions},
		{name: "truncated", in: `{"challenge":"AAEC"`, wantErr: ErrInvalidOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequestOptions([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.RPID != tt.want.RPID || !bytes.Equal(got.Challenge, tt.want.Challenge) || !equalIDs(got.AllowCredentials, tt.want.AllowCredentials) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func equalIDs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// The parsers read whatever a server under test emits; a malformed page must fail the test, not crash it.
func FuzzParseCreationOptions(f *testing.F) {
	f.Add([]byte(`{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"dQ"},"challenge":"AAEC","excludeCredentials":[{"type":"public-key","id":"AQ"}]}}`))
	f.Add([]byte(`{"user":{"id":"dQ"},"challenge":"AAEC","pubKeyCredParams":[{"type":"public-key","alg":-7}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts, err := ParseCreationOptions(data)
		if err == nil && (len(opts.Challenge) == 0 || len(opts.UserHandle) == 0) {
			t.Fatalf("accepted options without challenge or user id: %s", data)
		}
	})
}

func FuzzParseRequestOptions(f *testing.F) {
	f.Add([]byte(`{"publicKey":{"rpId":"localhost","challenge":"AAEC","allowCredentials":[{"type":"public-key","id":"AQ"}]}}`))
	f.Add([]byte(`{"challenge":"AAEC"}`))
	f.Add([]byte(`{"publicKey":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		opts, err := ParseRequestOptions(data)
		if err == nil && len(opts.Challenge) == 0 {
			t.Fatalf("accepted options without challenge: %s", data)
		}
	})
}
