package tenant

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"
)

// Duration is a time.Duration that reads and writes as "24h", "10m" in documents.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler. It fails with a *json.UnmarshalTypeError,
// which encoding/json completes with the path of the field being read, so the error
// can say which duration is wrong.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil || string(b) == "null" {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: durationType}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: durationType}
	}
	*d = Duration(v)
	return nil
}

var durationType = reflect.TypeFor[Duration]()

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Method is what a tenant allows one sign-in method to do.
type Method struct {
	// SignIn lets the method start a session on its own.
	SignIn bool `json:"sign_in"`
	// Recovery lets the method recover an account that lost its other methods.
	Recovery bool `json:"recovery"`
	// Enroll lets users add new credentials of this method.
	Enroll bool `json:"enroll"`
}

// Methods lists every method class of DESIGN.md §3.
type Methods struct {
	Passkey      Method `json:"passkey"`
	EmailCode    Method `json:"email_code"`
	SMS          Method `json:"sms"`
	Password     Method `json:"password"`
	RecoveryCode Method `json:"recovery_code"`
	TAP          Method `json:"tap"`
}

// Flows lists every way to obtain a session or token; each is on or off.
type Flows struct {
	AuthorizationCode   bool `json:"authorization_code"`
	RefreshToken        bool `json:"refresh_token"`
	ClientCredentials   bool `json:"client_credentials"`
	DeviceCode          bool `json:"device_code"`
	SelfServiceRecovery bool `json:"self_service_recovery"`
	HelpdeskTAP         bool `json:"helpdesk_tap"`
	EmailCodeSignIn     bool `json:"email_code_sign_in"`
	// SelfSignUp lets people create their own accounts (never in the system tenant).
	SelfSignUp bool `json:"self_sign_up"`
}

// Passkeys holds WebAuthn relying-party policy.
type Passkeys struct {
	UserVerification string   `json:"user_verification"` // always "required"
	Attestation      string   `json:"attestation"`       // "none" or "direct"
	AAGUIDAllowList  []string `json:"aaguid_allow_list"` // empty: any authenticator
	// SignCountRegression is "flag" (allow, audit) or "refuse".
	SignCountRegression string   `json:"sign_count_regression"`
	RPID                string   `json:"rp_id,omitempty"`   // default: host of the base URL
	Origins             []string `json:"origins,omitempty"` // default: the base URL's origin
}

// Device holds the device authorization grant's hardening.
type Device struct {
	Proximity       string   `json:"proximity"` // off, warn, require
	CodeLifetime    Duration `json:"code_lifetime"`
	Interval        Duration `json:"interval"`
	ScopeCeiling    []string `json:"scope_ceiling"`
	RefreshLifetime Duration `json:"refresh_lifetime"`
}

// Recovery holds self-service recovery and help-desk rules.
type Recovery struct {
	Hold                    Duration `json:"hold"`
	PrivilegedSelfService   bool     `json:"privileged_self_service"`
	RequireRecoveryCode     bool     `json:"require_recovery_code"`
	TAPMaxLifetime          Duration `json:"tap_max_lifetime"`
	TAPPrivilegedTwoPersons bool     `json:"tap_privileged_two_person"`
}

// Sessions holds browser-session lifetimes and step-up freshness.
type Sessions struct {
	Idle       Duration `json:"idle"`
	Absolute   Duration `json:"absolute"`
	StepUpAge  Duration `json:"step_up_max_age"`
	NudgeSkips int      `json:"nudge_max_skips"`
}

// Throttles bound guessing and message sending.
type Throttles struct {
	CodeTries         int      `json:"code_tries"`
	CodeSendsPerHour  int      `json:"code_sends_per_hour"`
	IPAttemptsPerHour int      `json:"ip_attempts_per_hour"`
	CodeLifetime      Duration `json:"code_lifetime"`
	DeviceCodeEntries int      `json:"device_code_entries"`
	// CeremoniesPerMinute bounds passkey ceremony starts per client IP. Autofill starts
	// one on every sign-in page view, so it must allow a busy office behind one address.
	CeremoniesPerMinute int `json:"ceremonies_per_minute"`
	AccountFailureLock  int `json:"account_failure_lock"`
}

// Retirement is the schedule that moves a legacy method out.
type Retirement struct {
	Phase string `json:"phase"` // active, nudge, no_new_enrollment, recovery_only, disabled, purged
}

// Policy is a tenant's whole policy document. Version is assigned by the store.
type Policy struct {
	Version    int                   `json:"version,omitempty"`
	Methods    Methods               `json:"methods"`
	Flows      Flows                 `json:"flows"`
	Passkeys   Passkeys              `json:"passkeys"`
	Device     Device                `json:"device"`
	Recovery   Recovery              `json:"recovery"`
	Sessions   Sessions              `json:"sessions"`
	Throttles  Throttles             `json:"throttles"`
	Retirement map[string]Retirement `json:"retirement"`
}

// DefaultPolicy is the secure default of DESIGN.md §2: passkeys sign in, a verified
// email recovers; SMS, passwords, email-code sign-in and the device grant are off.
func DefaultPolicy() Policy {
	return Policy{
		Methods: Methods{
			Passkey:      Method{SignIn: true, Recovery: false, Enroll: true},
			EmailCode:    Method{SignIn: false, Recovery: true, Enroll: true},
			SMS:          Method{},
			Password:     Method{},
			RecoveryCode: Method{SignIn: false, Recovery: true, Enroll: true},
			TAP:          Method{SignIn: false, Recovery: true, Enroll: false},
		},
		Flows: Flows{
			AuthorizationCode:   true,
			RefreshToken:        true,
			ClientCredentials:   true,
			DeviceCode:          false,
			SelfServiceRecovery: true,
			HelpdeskTAP:         true,
			EmailCodeSignIn:     false,
			SelfSignUp:          true,
		},
		Passkeys: Passkeys{UserVerification: "required", Attestation: "none", SignCountRegression: "flag"},
		Device: Device{
			Proximity:       "require",
			CodeLifetime:    Duration(10 * time.Minute),
			Interval:        Duration(5 * time.Second),
			ScopeCeiling:    []string{"openid", "profile", "email"},
			RefreshLifetime: Duration(24 * time.Hour),
		},
		Recovery: Recovery{
			Hold:                    Duration(24 * time.Hour),
			PrivilegedSelfService:   false,
			RequireRecoveryCode:     false,
			TAPMaxLifetime:          Duration(time.Hour),
			TAPPrivilegedTwoPersons: true,
		},
		Sessions: Sessions{
			Idle:       Duration(12 * time.Hour),
			Absolute:   Duration(14 * 24 * time.Hour),
			StepUpAge:  Duration(5 * time.Minute),
			NudgeSkips: 3,
		},
		Throttles: Throttles{
			CodeTries:           5,
			CodeSendsPerHour:    5,
			IPAttemptsPerHour:   100,
			CodeLifetime:        Duration(10 * time.Minute),
			DeviceCodeEntries:   5,
			CeremoniesPerMinute: 300,
			AccountFailureLock:  100,
		},
		Retirement: map[string]Retirement{"sms": {Phase: "active"}, "password": {Phase: "active"}},
	}
}

var retirementPhases = map[string]bool{
	"active": true, "nudge": true, "no_new_enrollment": true, "recovery_only": true, "disabled": true, "purged": true,
}

// Validate checks the document and returns an error naming the first bad field.
func (p *Policy) Validate() error {
	switch {
	case p.Passkeys.UserVerification != "required":
		return fmt.Errorf("passkeys.user_verification must be \"required\"")
	case p.Passkeys.Attestation != "none" && p.Passkeys.Attestation != "direct":
		return fmt.Errorf("passkeys.attestation must be \"none\" or \"direct\"")
	case len(p.Passkeys.AAGUIDAllowList) > 0 && p.Passkeys.Attestation != "direct":
		// Without attestation an authenticator names any model it likes.
		return fmt.Errorf("passkeys.aaguid_allow_list needs passkeys.attestation \"direct\"")
	case p.Passkeys.SignCountRegression != "flag" && p.Passkeys.SignCountRegression != "refuse":
		return fmt.Errorf("passkeys.sign_count_regression must be \"flag\" or \"refuse\"")
	case p.Device.Proximity != "off" && p.Device.Proximity != "warn" && p.Device.Proximity != "require":
		return fmt.Errorf("device.proximity must be off, warn or require")
	case p.Device.CodeLifetime.D() < time.Minute || p.Device.CodeLifetime.D() > 30*time.Minute:
		return fmt.Errorf("device.code_lifetime must be between 1m and 30m")
	case p.Device.Interval.D() < time.Second || p.Device.Interval.D() > time.Minute:
		return fmt.Errorf("device.interval must be between 1s and 1m")
	case p.Device.RefreshLifetime.D() < 5*time.Minute || p.Device.RefreshLifetime.D() > 30*24*time.Hour:
		// Below a few minutes every device grant would end as it is issued; above 30
		// days it would outlive every other token family.
		return fmt.Errorf("device.refresh_lifetime must be between 5m and 720h")
	case p.Recovery.Hold.D() < 0 || p.Recovery.Hold.D() > 30*24*time.Hour:
		return fmt.Errorf("recovery.hold must be between 0 and 720h")
	case p.Recovery.TAPMaxLifetime.D() < time.Minute || p.Recovery.TAPMaxLifetime.D() > 24*time.Hour:
		return fmt.Errorf("recovery.tap_max_lifetime must be between 1m and 24h")
	case p.Sessions.Idle.D() < time.Minute || p.Sessions.Absolute.D() < p.Sessions.Idle.D():
		return fmt.Errorf("sessions.idle must be at least 1m and no longer than sessions.absolute")
	case p.Sessions.StepUpAge.D() < 30*time.Second || p.Sessions.StepUpAge.D() > time.Hour:
		return fmt.Errorf("sessions.step_up_max_age must be between 30s and 1h")
	case p.Sessions.NudgeSkips < 0:
		return fmt.Errorf("sessions.nudge_max_skips must not be negative")
	case p.Throttles.CodeTries < 1 || p.Throttles.CodeTries > 10:
		return fmt.Errorf("throttles.code_tries must be between 1 and 10")
	case p.Throttles.CodeSendsPerHour < 1:
		return fmt.Errorf("throttles.code_sends_per_hour must be at least 1")
	case p.Throttles.IPAttemptsPerHour < 1:
		return fmt.Errorf("throttles.ip_attempts_per_hour must be at least 1")
	case p.Throttles.CodeLifetime.D() < time.Minute || p.Throttles.CodeLifetime.D() > 24*time.Hour:
		return fmt.Errorf("throttles.code_lifetime must be between 1m and 24h")
	case p.Throttles.DeviceCodeEntries < 1 || p.Throttles.DeviceCodeEntries > 10:
		return fmt.Errorf("throttles.device_code_entries must be between 1 and 10")
	case p.Throttles.CeremoniesPerMinute < 1 || p.Throttles.CeremoniesPerMinute > 1_000_000:
		return fmt.Errorf("throttles.ceremonies_per_minute must be between 1 and 1000000")
	case p.Throttles.AccountFailureLock < 1 || p.Throttles.AccountFailureLock > 100:
		return fmt.Errorf("throttles.account_failure_lock must be between 1 and 100")
	case !p.Methods.Passkey.SignIn:
		return fmt.Errorf("methods.passkey.sign_in cannot be turned off")
	}
	for m, r := range p.Retirement {
		if m != "sms" && m != "password" {
			return fmt.Errorf("retirement.%s: only sms and password can be retired", m)
		}
		if !retirementPhases[r.Phase] {
			return fmt.Errorf("retirement.%s.phase %q is not a known phase", m, r.Phase)
		}
	}
	return nil
}

// Parse reads a policy document strictly: it must be one JSON object, unknown fields
// are errors, and missing fields keep their secure defaults. Every error wraps
// ErrInvalid and names the offending field where there is one.
func Parse(doc []byte) (Policy, error) {
	p, err := parse(doc)
	if err != nil {
		return Policy{}, fmt.Errorf("%w: policy document: %v", ErrInvalid, err)
	}
	return p, nil
}

func parse(doc []byte) (Policy, error) {
	if trimmed := bytes.TrimLeft(doc, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return Policy{}, errors.New("want a JSON object")
	}
	p := DefaultPolicy()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Policy{}, fmt.Errorf("%s: want %s, got %s", te.Field, describe(te.Type), te.Value)
		}
		// Errors from a field's own decoder do not carry its path on every Go release,
		// so find the offending duration ourselves.
		if path := badDuration(doc); path != "" {
			return Policy{}, fmt.Errorf("%s: want a duration like \"10m\" or \"24h\"", path)
		}
		return Policy{}, err
	}
	// A second document would be ignored, so a reader could believe it applies.
	if _, err := dec.Token(); err != io.EOF {
		return Policy{}, errors.New("unexpected data after the JSON object")
	}
	if err := checkNames(doc); err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// checkNames refuses field names that encoding/json accepts but another reader of the
// document would not: it matches names case-insensitively (with Unicode folding, so
// "ſms" reads as "sms") and lets the last of two equal names win. Either would let a
// document that a reviewer reads as one policy apply another. Every name in the schema
// (including the retirement keys) is lower-case ASCII, so that is all we accept, once
// per object. The document has already decoded against the schema, so it is shallow.
func checkNames(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	return checkValue(dec, "")
}

func checkValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			if err := checkValue(dec, path); err != nil {
				return err
			}
		}
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := tok.(string)
			field := name
			if path != "" {
				field = path + "." + name
			}
			if !schemaName(name) {
				if path == "" {
					return fmt.Errorf("unknown field %q", name)
				}
				return fmt.Errorf("%s: unknown field %q", path, name)
			}
			if seen[name] {
				return fmt.Errorf("%s appears more than once", field)
			}
			seen[name] = true
			if err := checkValue(dec, field); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing bracket or brace
	return err
}

func schemaName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// describe names what a field of type t expects, for error messages.
func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration like "10m" or "24h"`
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "a whole number"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	default:
		return "an object"
	}
}

// jsonKind describes a JSON value by its kind, without repeating it.
func jsonKind(b []byte) string {
	switch b = bytes.TrimSpace(b); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == 'n':
		return "null"
	default:
		return "number"
	}
}

// SignUpAllowed reports whether people may create their own accounts in the tenant.
// Operators are never self-made: the system tenant refuses whatever its policy says.
func SignUpAllowed(tenantID string, p Policy) bool {
	return tenantID != System && p.Flows.SelfSignUp
}
