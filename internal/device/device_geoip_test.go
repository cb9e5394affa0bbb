package device_test

import (
	"encoding/json"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/device"
	"github.com/gatehouse-id/gatehouse/internal/geoip/geoiptest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The drill's networks in the test databases: the attacker's 127.0.0.0/24, the
// victim's 127.1.0.0/24, and a third network with another provider.
const (
	asExample = 64500
	asOther   = 64511
)

// asnDB writes a GeoLite2-ASN database with the attacker's network in AS64500 and
// the victim's in victimASN; 127.2.0.0/24 is always in AS64511.
func asnDB(t *testing.T, victimASN uint32) string {
	org := map[uint32]string{asExample: "Example Net", asOther: "Other Carrier"}
	return geoiptest.Write(t, geoiptest.TypeASN,
		geoiptest.Network{CIDR: "127.0.0.0/24", ASN: asExample, Org: org[asExample]},
		geoiptest.Network{CIDR: "127.1.0.0/24", ASN: victimASN, Org: org[victimASN]},
		geoiptest.Network{CIDR: "127.2.0.0/24", ASN: asOther, Org: org[asOther]})
}

// cityDB writes a GeoLite2-City database placing the attacker in Lisbon and the
// victim in Porto.
func cityDB(t *testing.T) string {
	return geoiptest.Write(t, geoiptest.TypeCity,
		geoiptest.Network{CIDR: "127.0.0.0/24", City: "Lisbon", Subdivision: "Lisbon", Country: "Portugal", CountryCode: "PT"},
		geoiptest.Network{CIDR: "127.1.0.0/24", City: "Porto", Subdivision: "Porto", Country: "Portugal", CountryCode: "PT"})
}

func withGeoIP(files ...string) apptest.Option {
	return apptest.WithConfig(func(c *config.Config) { c.GeoIPDB = strings.Join(files, ", ") })
}

// details decodes an audit event's details.
func details(t *testing.T, ev store.AuditEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Details, &m); err != nil {
		t.Fatalf("details of %s: %v", ev.Type, err)
	}
	return m
}

// TestPhishingDrillWithGeoIP replays the drill under require with a GeoIP database:
// attacker and victim are on different /24 networks, so only a shared autonomous
// system can let the approval through.
func TestPhishingDrillWithGeoIP(t *testing.T) {
	t.Run("same ASN passes require", func(t *testing.T) {
		e := newEnv(t, envOpts{proximity: device.ProximityRequire, server: []apptest.Option{withGeoIP(asnDB(t, asExample))}})
		attacker := from(attackerIP)
		da := e.startDevice(t, attacker, "openid", "profile")
		victim := e.personFrom(victimIP)
		victim.SignUp(t, "Vera Victim")

		shown := enter(t, victim, da.UserCode)
		if shown.status != http.StatusOK || shown.has(`id="device-proximity-mismatch"`) || !shown.has(`id="device-approve"`) {
			t.Fatalf("same provider must not be a mismatch under require: %d\n%s", shown.status, shown.body)
		}
		if !shown.has(`id="device-same-provider"`) || !shown.has("same internet provider (AS64500 Example Net)") {
			t.Errorf("the page must say the match is only by provider:\n%s", shown.body)
		}
		if got := decide(t, victim, da.UserCode, "approve"); got.status != http.StatusOK {
			t.Fatalf("approval with the same ASN: %d\n%s", got.status, got.body)
		}
		if _, code, body := e.poll(t, attacker, da.DeviceCode); code != "" || body["access_token"] == nil {
			t.Fatalf("poll after approval: %q %v", code, body)
		}
		ev := e.events(t, audit.DeviceApproved)
		if len(ev) != 1 {
			t.Fatalf("%d approvals recorded", len(ev))
		}
		d := details(t, ev[0])
		if d["same_network"] != false || d["same_asn"] != true || d["requester_asn"] != float64(asExample) ||
			d["approver_asn"] != float64(asExample) {
			t.Errorf("approval must record that only the ASN matched: %v", d)
		}
		if n := len(e.events(t, audit.DeviceProximityMismatch)); n != 0 {
			t.Errorf("%d mismatches recorded for a same-ASN approval", n)
		}
	})

	t.Run("different ASN is refused", func(t *testing.T) {
		e := newEnv(t, envOpts{proximity: device.ProximityRequire, server: []apptest.Option{withGeoIP(asnDB(t, asOther))}})
		attacker := from(attackerIP)
		da := e.startDevice(t, attacker, "openid")
		victim := e.personFrom(victimIP)
		victim.SignUp(t, "Vera Victim")

		shown := enter(t, victim, da.UserCode)
		if !shown.has(`id="device-proximity-mismatch"`) || shown.has(`id="device-approve"`) || shown.has(`id="device-same-provider"`) {
			t.Fatalf("different providers must be a mismatch:\n%s", shown.body)
		}
		if got := decide(t, victim, da.UserCode, "approve"); got.status != http.StatusForbidden {
			t.Fatalf("approval across providers: %d\n%s", got.status, got.body)
		}
		if _, code, _ := e.poll(t, attacker, da.DeviceCode); code != "authorization_pending" {
			t.Errorf("attacker's poll: %q, want authorization_pending", code)
		}
		ev := e.events(t, audit.DeviceProximityMismatch)
		if len(ev) != 1 {
			t.Fatalf("%d mismatches recorded", len(ev))
		}
		if d := details(t, ev[0]); d["requester_asn"] != float64(asExample) || d["approver_asn"] != float64(asOther) {
			t.Errorf("mismatch must name both ASNs: %v", d)
		}
	})

	t.Run("a third provider is refused by the same database", func(t *testing.T) {
		e := newEnv(t, envOpts{proximity: device.ProximityRequire, server: []apptest.Option{withGeoIP(asnDB(t, asExample))}})
		attacker := from(attackerIP)
		da := e.startDevice(t, attacker, "openid")
		victim := e.personFrom("127.2.0.5")
		victim.SignUp(t, "Vera Victim")
		if got := decide(t, victim, da.UserCode, "approve"); got.status != http.StatusForbidden {
			t.Fatalf("approval from AS64511: %d\n%s", got.status, got.body)
		}
	})

	t.Run("an address the database does not know never matches", func(t *testing.T) {
		// 127.3.0.0/24 is in no database: an unknown ASN on both sides must not count
		// as the same one.
		e := newEnv(t, envOpts{proximity: device.ProximityRequire, server: []apptest.Option{withGeoIP(asnDB(t, asExample))}})
		da := e.startDevice(t, from("127.3.0.2"), "openid")
		victim := e.personFrom("127.4.0.3")
		victim.SignUp(t, "Vera Victim")
		if got := decide(t, victim, da.UserCode, "approve"); got.status != http.StatusForbidden {
			t.Fatalf("approval between two unknown addresses: %d\n%s", got.status, got.body)
		}
	})
}

// TestApprovalPageShowsGeoIP checks what a person reads with an ASN database and a
// City database configured together, and what the audit log keeps.
func TestApprovalPageShowsGeoIP(t *testing.T) {
	e := newEnv(t, envOpts{proximity: device.ProximityWarn, server: []apptest.Option{withGeoIP(asnDB(t, asOther), cityDB(t))}})
	attacker := from(attackerIP)
	da := e.startDevice(t, attacker, "openid")
	victim := e.personFrom(victimIP)
	victim.SignUp(t, "Vera Victim")

	shown := enter(t, victim, da.UserCode)
	body := html.UnescapeString(shown.body)
	for _, want := range []string{
		"Requested from: 127.0.0.2 (127.0.0.0/24), Lisbon, Portugal, AS64500 Example Net",
		"You are at: 127.1.0.3 (127.1.0.0/24), Porto, Portugal, AS64511 Other Carrier",
		`id="requester-location">Lisbon, Portugal`,
		`id="requester-as">AS64500 Example Net`,
		`id="approver-as">AS64511 Other Carrier`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, shown.body)
		}
	}

	req := e.events(t, audit.DeviceRequested)
	if len(req) != 1 {
		t.Fatalf("%d request events", len(req))
	}
	if d := details(t, req[0]); d["asn"] != float64(asExample) || d["country"] != "PT" || d["asn_org"] != "Example Net" ||
		d["location"] != "Lisbon, Portugal" {
		t.Errorf("request event lacks ASN and country: %v", d)
	}
	if got := decide(t, victim, da.UserCode, "approve"); got.status != http.StatusOK {
		t.Fatalf("approval in warn mode: %d\n%s", got.status, got.body)
	}
	for _, typ := range []string{audit.DeviceApproved, audit.DeviceProximityMismatch} {
		ev := e.events(t, typ)
		if len(ev) != 1 {
			t.Fatalf("%d %s events", len(ev), typ)
		}
		d := details(t, ev[0])
		if d["requester_asn"] != float64(asExample) || d["requester_country"] != "PT" ||
			d["approver_asn"] != float64(asOther) || d["approver_country"] != "PT" {
			t.Errorf("%s lacks ASN and country: %v", typ, d)
		}
	}
}

// TestGeoIPStartupErrors checks that a --geoip-db file that is not a usable database
// stops the node from starting with one line naming the setting and the file.
func TestGeoIPStartupErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "GeoLite2-City.mmdb")
	if err := os.WriteFile(junk, []byte("<html>404 Not Found</html>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := asnDB(t, asExample)
	tests := []struct {
		name, setting, want string
	}{
		{"corrupt", junk, `invalid --geoip-db "` + junk + `": not a readable MaxMind DB file`},
		{"corrupt second of two", good + "," + junk, `invalid --geoip-db "` + junk + `": not a readable MaxMind DB file`},
		{"missing", filepath.Join(dir, "none.mmdb"), `invalid --geoip-db "` + filepath.Join(dir, "none.mmdb") + `": not a readable MaxMind DB file`},
		{"wrong kind of database", geoiptest.Write(t, "GeoIP2-Connection-Type"), `has no ASN or location data`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Config{Listen: "127.0.0.1:0", BaseURL: "http://localhost:1",
				Database: "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"), KEKFile: filepath.Join(t.TempDir(), "kek"),
				LogFormat: "text", LogLevel: "info", OutboxInterval: time.Second, GeoIPDB: tt.setting}
			a, err := app.Open(t.Context(), cfg, app.Options{})
			if err == nil {
				a.Close()
				t.Fatalf("node started with --geoip-db %q", tt.setting)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, "invalid --geoip-db") || strings.Contains(msg, "\n") {
				t.Errorf("start-up error %q; want one line containing %q", msg, tt.want)
			}
		})
	}
}
