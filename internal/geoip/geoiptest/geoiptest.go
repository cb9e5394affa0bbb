// Package geoiptest writes small MaxMind DB files for tests, laid out like the
// GeoLite2 ASN and City databases, so tests can give a server --geoip-db without
// shipping a real database.
package geoiptest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Database types as MaxMind names them.
const (
	TypeASN  = "GeoLite2-ASN"
	TypeCity = "GeoLite2-City"
)

// Network is one block of a test database and what the database says about it; empty
// fields are left out of the record, as the real databases do.
type Network struct {
	CIDR        string // e.g. "127.0.0.0/24"
	ASN         uint32
	Org         string
	City        string
	Subdivision string
	Country     string // English name
	CountryCode string // ISO 3166-1 alpha-2
}

// Write writes a database of type dbType (TypeASN, TypeCity or any other name)
// holding nets to a new file in t.TempDir() and returns its path. Loopback and
// private blocks are allowed, since tests run on them.
func Write(t testing.TB, dbType string, nets ...Network) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true,
		Languages: []string{"en"}, Description: map[string]string{"en": "test database"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		_, ipnet, err := net.ParseCIDR(n.CIDR)
		if err != nil {
			t.Fatalf("network %q: %v", n.CIDR, err)
		}
		if err := tree.Insert(ipnet, record(n)); err != nil {
			t.Fatalf("insert %q: %v", n.CIDR, err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// record lays n out with the GeoLite2 field names.
func record(n Network) mmdbtype.Map {
	m := mmdbtype.Map{}
	if n.ASN != 0 {
		m["autonomous_system_number"] = mmdbtype.Uint32(n.ASN)
	}
	if n.Org != "" {
		m["autonomous_system_organization"] = mmdbtype.String(n.Org)
	}
	named := func(name string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(name), "de": mmdbtype.String(name + " (de)")}}
	}
	if n.City != "" {
		m["city"] = named(n.City)
	}
	if n.Subdivision != "" {
		m["subdivisions"] = mmdbtype.Slice{named(n.Subdivision)}
	}
	if n.Country != "" || n.CountryCode != "" {
		c := named(n.Country)
		c["iso_code"] = mmdbtype.String(n.CountryCode)
		m["country"] = c
	}
	return m
}
