package passkeytest

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

func TestClientDataJSONBytes(t *testing.T) {
	tests := []struct {
		name string
		in   clientData
		want string
	}{
		{
			name: "same origin",
			in:   clientData{typ: clientDataCreate, challenge: []byte{0xfb, 0xff}, origin: "http://localhost:8080"},
			want: `{"type":"webauthn.create","challenge":"-_8","origin":"http://localhost:8080","crossOrigin":false}`,
		},
		{
			// Browsers do not HTML-escape; Go's default encoder would turn & into \u0026 and change the hash.
			name: "cross origin with top origin",
			in:   clientData{typ: clientDataGet, challenge: []byte("hi"), origin: "https://a.example", crossOrigin: true, topOrigin: "https://b.example/?x=<&>"},
			want: `{"type":"webauthn.get","challenge":"aGk","origin":"https://a.example","crossOrigin":true,"topOrigin":"https://b.example/?x=<&>"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.marshal()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("clientDataJSON =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

// jsonKeys returns the member names of a JSON object, sorted.
func jsonKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %s", raw)
	}
	return slices.Sorted(maps.Keys(m))
}

func TestResponsesMarshalLikeToJSON(t *testing.T) {
	a := New(Options{})
	reg, err := a.Create(CreateOptions{Origin: testOrigin, Challenge: []byte("0123456789abcdef"), UserHandle: []byte("u")})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := a.Get(GetOptions{Origin: testOrigin, Challenge: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		v            any
		wantTop      []string
		wantResponse []string
	}{
		{
			name:         "registration",
			v:            reg,
			wantTop:      []string{"authenticatorAttachment", "clientExtensionResults", "id", "rawId", "response", "type"},
			wantResponse: []string{"attestationObject", "authenticatorData", "clientDataJSON", "publicKey", "publicKeyAlgorithm", "transports"},
		},
		{
			name:         "authentication",
			v:            auth,
			wantTop:      []string{"authenticatorAttachment", "clientExtensionResults", "id", "rawId", "response", "type"},
			wantResponse: []string{"authenticatorData", "clientDataJSON", "signature", "userHandle"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := mustMarshal(tt.v)
			if got := jsonKeys(t, raw); !slices.Equal(got, tt.wantTop) {
				t.Errorf("members = %v, want %v", got, tt.wantTop)
			}
			var top struct {
				ID         string          `json:"id"`
				RawID      string          `json:"rawId"`
				Type       string          `json:"type"`
				Attachment string          `json:"authenticatorAttachment"`
				Extensions json.RawMessage `json:"clientExtensionResults"`
				Response   json.RawMessage `json:"response"`
			}
			if err := json.Unmarshal(raw, &top); err != nil {
				t.Fatal(err)
			}
			if got := jsonKeys(t, top.Response); !slices.Equal(got, tt.wantResponse) {
				t.Errorf("response members = %v, want %v", got, tt.wantResponse)
			}
			if top.ID != top.RawID || top.Type != "public-key" || top.Attachment != "platform" || string(top.Extensions) != "{}" {
				t.Errorf("id %q rawId %q type %q attachment %q extensions %s", top.ID, top.RawID, top.Type, top.Attachment, top.Extensions)
			}
		})
	}
}

func TestBase64URLUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: `"-_8"`, want: "\xfb\xff"},
		{in: `"-_8="`, want: "\xfb\xff"},
		{in: `""`, want: ""},
		{in: `"+/8"`, wantErr: true},
		{in: `"a"`, wantErr: true},
		{in: `12`, wantErr: true},
	}
	for _, tt := range tests {
		var b Base64URL
		err := json.Unmarshal([]byte(tt.in), &b)
		if (err != nil) != tt.wantErr {
			t.Errorf("Unmarshal(%s) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && string(b) != tt.want {
			t.Errorf("Unmarshal(%s) = %x, want %x", tt.in, []byte(b), tt.want)
		}
	}
}
