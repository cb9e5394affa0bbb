package geoip_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/geoip"
	"github.com/gatehouse-id/gatehouse/internal/geoip/geoiptest"
)

func mustOpen(t *testing.T, paths ...string) *geoip.DB {
	t.Helper()
	db, err := geoip.Open(paths)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLocate(t *testing.T) {
	asn := geoiptest.Write(t, geoiptest.TypeASN,
		geoiptest.Network{CIDR: "203.0.113.0/24", ASN: 64500, Org: "Example Net"},
		geoiptest.Network{CIDR: "2001:db8::/32", ASN: 64501, Org: "Example Six"},
		geoiptest.Network{CIDR: "10.20.0.0/16", ASN: 64502, Org: "Corp\nInternal"})
	city := geoiptest.Write(t, geoiptest.TypeCity,
		geoiptest.Network{CIDR: "203.0.113.0/25", City: "Lisbon", Subdivision: "Lisbon", Country: "Portugal", CountryCode: "PT"},
		geoiptest.Network{CIDR: "203.0.113.128/25", City: "Porto", Subdivision: "Porto District", Country: "Portugal", CountryCode: "PT"},
		geoiptest.Network{CIDR: "198.51.100.0/24", Country: "Spain", CountryCode: "ES"})
	both := mustOpen(t, asn, city)

	tests := []struct {
		name string
		db   *geoip.DB
		ip   string
		want geoip.Place
		ok   bool
	}{
		{"asn and city merged", both, "203.0.113.7",
			geoip.Place{ASN: 64500, Org: "Example Net", Location: "Lisbon, Portugal", Country: "PT"}, true},
		{"region kept when it differs from the city", both, "203.0.113.200",
			geoip.Place{ASN: 64500, Org: "Example Net", Location: "Porto, Porto District, Portugal", Country: "PT"}, true},
		{"country only", both, "198.51.100.1", geoip.Place{Location: "Spain", Country: "ES"}, true},
		{"ipv6", both, "2001:db8::1", geoip.Place{ASN: 64501, Org: "Example Six"}, true},
		{"ipv4-mapped ipv6 is the ipv4 address", both, "::ffff:203.0.113.7",
			geoip.Place{ASN: 64500, Org: "Example Net", Location: "Lisbon, Portugal", Country: "PT"}, true},
		{"a private block the database lists", both, "10.20.3.4", geoip.Place{ASN: 64502, Org: "Corp Internal"}, true},
		{"loopback not in the database", both, "127.0.0.1", geoip.Place{}, false},
		{"private not in the database", both, "192.168.1.1", geoip.Place{}, false},
		{"unknown public address", both, "192.0.2.1", geoip.Place{}, false},
		{"asn database alone", mustOpen(t, asn), "203.0.113.7", geoip.Place{ASN: 64500, Org: "Example Net"}, true},
		{"city database alone", mustOpen(t, city), "203.0.113.7",
			geoip.Place{Location: "Lisbon, Portugal", Country: "PT"}, true},
		{"no database", nil, "203.0.113.7", geoip.Place{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.db.Locate(netip.MustParseAddr(tt.ip))
			if got != tt.want || ok != tt.ok {
				t.Errorf("Locate(%s) = %+v, %v; want %+v, %v", tt.ip, got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := both.Locate(netip.Addr{}); ok {
		t.Errorf("the zero address found something")
	}
}

func TestLocateAfterCloseFindsNothing(t *testing.T) {
	db, err := geoip.Open([]string{geoiptest.Write(t, geoiptest.TypeASN,
		geoiptest.Network{CIDR: "203.0.113.0/24", ASN: 64500})})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if p, ok := db.Locate(netip.MustParseAddr("203.0.113.1")); ok {
		t.Errorf("closed database answered %+v", p)
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := geoiptest.Write(t, geoiptest.TypeASN, geoiptest.Network{CIDR: "203.0.113.0/24", ASN: 64500})
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.mmdb"), "not a readable MaxMind DB file"},
		{"empty", write("empty.mmdb", nil), "not a readable MaxMind DB file"},
		{"not a database", write("junk.mmdb", []byte(strings.Repeat("gatehouse ", 500))), "not a readable MaxMind DB file"},
		{"truncated download", write("half.mmdb", whole[:len(whole)/2]), "not a readable MaxMind DB file"},
		{"a database without ASN or location", geoiptest.Write(t, "GeoIP2-Anonymous-IP",
			geoiptest.Network{CIDR: "203.0.113.0/24", ASN: 1}), `database type "GeoIP2-Anonymous-IP" has no ASN or location data`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A bad file after a good one still fails the whole set, naming the bad one.
			_, err := geoip.Open([]string{good, tt.path})
			var oe *geoip.OpenError
			if !errors.As(err, &oe) || oe.Path != tt.path || !strings.Contains(oe.Reason, tt.want) {
				t.Fatalf("Open = %v; want an OpenError for %s saying %q", err, tt.path, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	if _, err := geoip.Open(nil); err == nil {
		t.Errorf("Open with no files succeeded")
	}
}
