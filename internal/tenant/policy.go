package tenant

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that reads and writes as "24h", "10m" in documents.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"10m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %v", s, err)
	}
	*d = Duration(v)
	return nil
}

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
	CodeTries          int      `json:"code_tries"`
	CodeSendsPerHour   int      `json:"code_sends_per_hour"`
	IPAttemptsPerHour  int      `json:"ip_attempts_per_hour"`
	CodeLifetime       Duration `json:"code_lifetime"`
	DeviceCodeEntries  int      `json:"device_code_entries"`
	AccountFailureLock int      `json:"account_failure_lock"`
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
			CodeTries:          5,
			CodeSendsPerHour:   5,
			IPAttemptsPerHour:  100,
			CodeLifetime:       Duration(10 * time.Minute),
			DeviceCodeEntries:  5,
			AccountFailureLock: 100,
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
	case p.Passkeys.SignCountRegression != "flag" && p.Passkeys.SignCountRegression != "refuse":
		return fmt.Errorf("passkeys.sign_count_regression must be \"flag\" or \"refuse\"")
	case p.Device.Proximity != "off" && p.Device.Proximity != "warn" && p.Device.Proximity != "require":
		return fmt.Errorf("device.proximity must be off, warn or require")
	case p.Device.CodeLifetime.D() < time.Minute || p.Device.CodeLifetime.D() > 30*time.Minute:
		return fmt.Errorf("device.code_lifetime must be between 1m and 30m")
	case p.Device.Interval.D() < time.Second || p.Device.Interval.D() > time.Minute:
		return fmt.Errorf("device.interval must be between 1s and 1m")
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
	case p.Throttles.CodeSendsPerHour < 1 || p.Throttles.IPAttemptsPerHour < 1:
		return fmt.Errorf("throttles must be positive")
	case p.Throttles.CodeLifetime.D() < time.Minute || p.Throttles.CodeLifetime.D() > 24*time.Hour:
		return fmt.Errorf("throttles.code_lifetime must be between 1m and 24h")
	case p.Throttles.DeviceCodeEntries < 1 || p.Throttles.DeviceCodeEntries > 10:
		return fmt.Errorf("throttles.device_code_entries must be between 1 and 10")
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

// Parse reads a policy document strictly: unknown fields are errors, missing fields
// keep their secure defaults.
func Parse(doc []byte) (Policy, error) {
	p := DefaultPolicy()
	dec := json.NewDecoder(bytesReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("policy document: %v", err)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("policy document: %v", err)
	}
	return p, nil
}
