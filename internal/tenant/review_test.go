package tenant_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func TestReviewPolicy(t *testing.T) {
	for _, tc := range []struct {
		name string
		prev func(*tenant.Policy)
		next func(*tenant.Policy)
		want []string // one substring per expected warning, in order
	}{
		{"nothing changed", nil, nil, nil},
		{"device_code on", nil, func(p *tenant.Policy) { p.Flows.DeviceCode = true }, []string{"device-code phishing"}},
		{"device_code already on", func(p *tenant.Policy) { p.Flows.DeviceCode = true }, func(p *tenant.Policy) { p.Flows.DeviceCode = true }, nil},
		{"device_code off", func(p *tenant.Policy) { p.Flows.DeviceCode = true }, nil, nil},
		{"proximity warn", nil, func(p *tenant.Policy) { p.Device.Proximity = "warn" }, []string{"device.proximity is warn"}},
		{"proximity off", nil, func(p *tenant.Policy) { p.Device.Proximity = "off" }, []string{"device.proximity is off"}},
		{"proximity warn to off", func(p *tenant.Policy) { p.Device.Proximity = "warn" }, func(p *tenant.Policy) { p.Device.Proximity = "off" },
			[]string{"device.proximity is off"}},
		{"proximity off to warn is stricter", func(p *tenant.Policy) { p.Device.Proximity = "off" }, func(p *tenant.Policy) { p.Device.Proximity = "warn" }, nil},
		{"scope ceiling widened", nil, func(p *tenant.Policy) { p.Device.ScopeCeiling = append(p.Device.ScopeCeiling, "mail.read") },
			[]string{"device.scope_ceiling now admits mail.read"}},
		{"email-code sign-in on", nil, func(p *tenant.Policy) { p.Flows.EmailCodeSignIn, p.Methods.EmailCode.SignIn = true, true },
			[]string{"email-code sign-in is on"}},
		{"email-code flow without the method", nil, func(p *tenant.Policy) { p.Flows.EmailCodeSignIn = true },
			[]string{"has no effect until methods.email_code.sign_in"}},
		{"privileged self-service", nil, func(p *tenant.Policy) { p.Recovery.PrivilegedSelfService = true },
			[]string{"recovery.privileged_self_service is on"}},
		{"sms", nil, func(p *tenant.Policy) { p.Methods.SMS.SignIn, p.Methods.SMS.Recovery = true, true },
			[]string{"methods.sms.sign_in", "methods.sms.recovery"}},
		{"password", nil, func(p *tenant.Policy) { p.Methods.Password.SignIn = true }, []string{"methods.password.sign_in"}},
		{"one-person TAP", nil, func(p *tenant.Policy) { p.Recovery.TAPPrivilegedTwoPersons = false }, []string{"tap_privileged_two_person is off"}},
		{"no hold", nil, func(p *tenant.Policy) { p.Recovery.Hold = 0 }, []string{"recovery.hold is 0"}},
		{"longer hold", nil, func(p *tenant.Policy) { p.Recovery.Hold = tenant.Duration(48 * time.Hour) }, nil},
		{"several at once", nil, func(p *tenant.Policy) { p.Flows.DeviceCode, p.Device.Proximity = true, "off" },
			[]string{"device-code phishing", "device.proximity is off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev, next := tenant.DefaultPolicy(), tenant.DefaultPolicy()
			if tc.prev != nil {
				tc.prev(&prev)
				tc.prev(&next)
			}
			if tc.next != nil {
				tc.next(&next)
			}
			got := tenant.ReviewPolicy(prev, next)
			if len(got) != len(tc.want) {
				t.Fatalf("ReviewPolicy = %q, want %d warnings containing %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// policyChangedDetails returns the details of the newest policy.changed event.
func policyChangedDetails(t *testing.T, db store.Store, tenantID string) (severity string, d struct {
	Version  int      `json:"version"`
	Warnings []string `json:"warnings"`
}) {
	t.Helper()
	evs := mustEvents(t, db, tenantID)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == audit.PolicyChanged {
			if err := json.Unmarshal(evs[i].Details, &d); err != nil {
				t.Fatal(err)
			}
			return evs[i].Severity, d
		}
	}
	t.Fatal("no policy.changed event")
	return
}

func TestChangePolicy(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	if _, err := svc.Create(ctx, "acme", "Acme", audit.System()); err != nil {
		t.Fatal(err)
	}
	op := audit.Meta{ActorType: audit.ActorUser, ActorID: "op-1"}

	ch, err := svc.ChangePolicy(ctx, "acme", func(p tenant.Policy) (tenant.Policy, error) {
		p.Flows.DeviceCode = true
		return p, nil
	}, op)
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Changed || ch.Previous != 1 || ch.Policy.Version != 2 || !ch.Policy.Flows.DeviceCode ||
		len(ch.Warnings) != 1 || !strings.Contains(ch.Warnings[0], "device-code phishing") {
		t.Fatalf("ChangePolicy = %+v", ch)
	}
	sev, d := policyChangedDetails(t, db, "acme")
	if sev != audit.Medium || d.Version != 2 || len(d.Warnings) != 1 || d.Warnings[0] != ch.Warnings[0] {
		t.Errorf("audit = %s %+v, want medium with the warning", sev, d)
	}

	// An edit that changes nothing (an empty list is no list) stores nothing.
	before := len(mustEvents(t, db, "acme"))
	ch, err = svc.ChangePolicy(ctx, "acme", func(p tenant.Policy) (tenant.Policy, error) {
		p.Passkeys.AAGUIDAllowList = []string{}
		return p, nil
	}, op)
	if err != nil || ch.Changed || ch.Policy.Version != 2 || len(ch.Warnings) != 0 {
		t.Errorf("no-op ChangePolicy = %+v, %v", ch, err)
	}
	if n := len(mustEvents(t, db, "acme")); n != before {
		t.Errorf("no-op change wrote %d audit events", n-before)
	}

	// Invalid results and the edit's own errors write nothing.
	_, err = svc.ChangePolicy(ctx, "acme", func(p tenant.Policy) (tenant.Policy, error) {
		p.Device.Proximity = "sometimes"
		return p, nil
	}, op)
	if !errors.Is(err, tenant.ErrInvalid) || !strings.Contains(err.Error(), "device.proximity") {
		t.Errorf("invalid change = %v", err)
	}
	stop := errors.New("stop")
	if _, err := svc.ChangePolicy(ctx, "acme", func(p tenant.Policy) (tenant.Policy, error) { return p, stop }, op); !errors.Is(err, stop) {
		t.Errorf("edit error = %v, want it returned", err)
	}
	if _, err := svc.ChangePolicy(ctx, "ghost", func(p tenant.Policy) (tenant.Policy, error) { return p, nil }, op); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown tenant = %v", err)
	}
	if cur, _ := svc.Policy(ctx, "acme"); cur.Version != 2 || len(mustPolicies(t, db, "acme")) != 2 {
		t.Errorf("policy after refusals: v%d", cur.Version)
	}

	// SetPolicy reviews its change too.
	p := tenant.DefaultPolicy()
	p.Recovery.PrivilegedSelfService = true
	if _, err := svc.SetPolicy(ctx, "acme", p, op); err != nil {
		t.Fatal(err)
	}
	if sev, d := policyChangedDetails(t, db, "acme"); sev != audit.Medium || len(d.Warnings) != 1 ||
		!strings.Contains(d.Warnings[0], "privileged_self_service") {
		t.Errorf("SetPolicy audit = %s %+v", sev, d)
	}
}
