package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// policyOut is the part of a policy document these tests read.
type policyOut struct {
	Version int `json:"version"`
	Flows   struct {
		DeviceCode      bool `json:"device_code"`
		EmailCodeSignIn bool `json:"email_code_sign_in"`
	} `json:"flows"`
	Device struct {
		Proximity    string   `json:"proximity"`
		ScopeCeiling []string `json:"scope_ceiling"`
	} `json:"device"`
	Recovery struct {
		Hold string `json:"hold"`
	} `json:"recovery"`
	Passkeys struct {
		Attestation string   `json:"attestation"`
		AAGUIDs     []string `json:"aaguid_allow_list"`
	} `json:"passkeys"`
}

type policyChangeOut struct {
	Policy          policyOut `json:"policy"`
	PreviousVersion int       `json:"previous_version"`
	Changed         bool      `json:"changed"`
	Warnings        []string  `json:"warnings"`
}

func TestPolicyShow(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	p := mustJSON[policyOut](g, "policy", "show", "--tenant", "default")
	if p.Version != 1 || p.Flows.DeviceCode || p.Device.Proximity != "require" {
		t.Errorf("default policy = %+v, want version 1, device_code off, proximity require", p)
	}
	out := g.mustRun("policy", "show", "--tenant", "system")
	mustContain(t, "policy show", out, "version", "flows.device_code", "false", "device.proximity", "require",
		"recovery.hold", "24h0m0s", "retirement.sms.phase", "active")
	if msg := g.mustFail("policy", "show", "--tenant", "nope"); msg != "gatehouse: tenant nope not found" {
		t.Errorf("unknown tenant: %q", msg)
	}
}

func TestPolicySetSettings(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)

	r := g.run("policy", "set", "--tenant", "default", "flows.device_code=true", "device.proximity=warn",
		"recovery.hold=48h", "passkeys.attestation=direct", "passkeys.aaguid_allow_list=aaa, bbb")
	if r.code != 0 {
		t.Fatalf("policy set: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "stdout", r.stdout, "policy of tenant default is now version 2 (was 1)")
	var warnings []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.HasPrefix(l, "warning: ") {
			t.Errorf("stderr line without the warning prefix: %q", l)
		}
		warnings = append(warnings, l)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "device-code phishing") || !strings.Contains(warnings[1], "device.proximity is warn") {
		t.Errorf("warnings = %q, want device-code phishing and proximity warn", warnings)
	}

	p := mustJSON[policyOut](g, "policy", "show", "--tenant", "default")
	if p.Version != 2 || !p.Flows.DeviceCode || p.Device.Proximity != "warn" || p.Recovery.Hold != "48h0m0s" ||
		strings.Join(p.Passkeys.AAGUIDs, ",") != "aaa,bbb" {
		t.Errorf("policy after set = %+v", p)
	}

	// The change is audited with the terminal's operator and the warnings.
	var found bool
	for _, rec := range exportRecords(t, g.mustRun("audit", "export", "--type", "policy.changed", "--tenant", "default")) {
		var d struct {
			Version  int      `json:"version"`
			Warnings []string `json:"warnings"`
		}
		if err := json.Unmarshal(rec.Details, &d); err != nil {
			t.Fatal(err)
		}
		if d.Version == 2 {
			found = true
			if rec.ActorType != "cli" || rec.Actor != operatorName || len(d.Warnings) != 2 {
				t.Errorf("policy.changed v2 = actor %s:%s, warnings %q", rec.ActorType, rec.Actor, d.Warnings)
			}
		}
	}
	if !found {
		t.Error("no policy.changed event for version 2")
	}

	// Setting what is already set stores nothing and warns about nothing.
	ch := mustJSON[policyChangeOut](g, "policy", "set", "--tenant", "default", "flows.device_code=true")
	if ch.Changed || ch.Policy.Version != 2 || ch.PreviousVersion != 2 || len(ch.Warnings) != 0 {
		t.Errorf("repeated set = %+v, want unchanged at version 2 without warnings", ch)
	}
	if p := mustJSON[policyOut](g, "policy", "show", "--tenant", "default"); p.Version != 2 {
		t.Errorf("version after a no-op set = %d, want 2", p.Version)
	}
}

func TestPolicySetRefusesAndStoresNothing(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"flows": {"device_code": true}, "colour": "blue"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown path", []string{"flows.devise_code=true"}, `unknown setting "flows.devise_code"`},
		{"not a setting", []string{"flows=true"}, "flows is a section"},
		{"under a setting", []string{"flows.device_code.x=true"}, `unknown setting "flows.device_code.x"`},
		{"no equals", []string{"flows.device_code"}, "want PATH=VALUE"},
		{"bad bool", []string{"flows.device_code=yes"}, "flows.device_code=yes: want true or false"},
		{"bad duration", []string{"recovery.hold=two days"}, "recovery.hold=two days: want a duration"},
		{"bad number", []string{"throttles.code_tries=many"}, "throttles.code_tries=many: want a whole number"},
		{"invalid value", []string{"device.proximity=maybe"}, "device.proximity must be off, warn or require"},
		{"out of range", []string{"recovery.hold=9000h"}, "recovery.hold must be between"},
		{"unknown retirement method", []string{"retirement.fax.phase=nudge"}, "retirement.fax"},
		{"version", []string{"version=9"}, "version is assigned"},
		{"one good one bad", []string{"flows.device_code=true", "device.proximity=sometimes"}, "device.proximity"},
		{"file with unknown field", []string{"--file", bad}, `unknown field "colour"`},
		{"missing file", []string{"--file", filepath.Join(t.TempDir(), "none.json")}, "--file"},
		{"file and settings", []string{"--file", bad, "flows.device_code=true"}, "not both"},
		{"nothing", nil, "nothing to set"},
		{"unknown tenant", []string{"--tenant", "nope", "flows.device_code=true"}, "tenant nope not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := g.mustFail(append([]string{"policy", "set"}, tc.args...)...)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want it to contain %q", msg, tc.want)
			}
		})
	}
	if p := mustJSON[policyOut](g, "policy", "show", "--tenant", "default"); p.Version != 1 || p.Flows.DeviceCode {
		t.Errorf("policy after refusals = %+v, want version 1 unchanged", p)
	}
}

func TestPolicySetFile(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	dir := t.TempDir()
	doc := filepath.Join(dir, "policy.json")
	// A whole document: what it leaves out takes the secure defaults.
	if err := os.WriteFile(doc, []byte(`{"flows": {"email_code_sign_in": true}, "methods": {"email_code": {"sign_in": true, "recovery": true, "enroll": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := g.run("policy", "set", "--tenant", "default", "--file", doc)
	if r.code != 0 || !strings.Contains(r.stdout, "now version 2") || !strings.Contains(r.stderr, "warning: email-code sign-in is on") {
		t.Fatalf("policy set --file: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	p := mustJSON[policyOut](g, "policy", "show", "--tenant", "default")
	if !p.Flows.EmailCodeSignIn || p.Flows.DeviceCode {
		t.Errorf("policy after --file = %+v", p)
	}

	// A document that names the version it was read at is refused once that is stale.
	stale := filepath.Join(dir, "stale.json")
	if err := os.WriteFile(stale, []byte(`{"version": 1, "flows": {"device_code": true}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := g.mustFail("policy", "set", "--tenant", "default", "--file", stale); !strings.Contains(msg, "version 1 but the tenant is at version 2") {
		t.Errorf("stale file: %q", msg)
	}
}
