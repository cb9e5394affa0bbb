// Package geoip reads MaxMind DB files (GeoLite2/GeoIP2 ASN, City and Country, and
// databases in the same format) to say which autonomous system an address belongs to
// and roughly where it is. The device grant shows this next to where an approver is,
// and counts a shared autonomous system as being near.
//
// One DB may combine several files, say an ASN database and a City database: each
// lookup asks them in order and the first that knows a field supplies it.
package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Place is what the databases say about one address. Every field is empty when no
// database knows it.
type Place struct {
	ASN uint32 // autonomous system number, 0 when unknown
	Org string // the autonomous system's organisation
	// Location is approximate and for people, e.g. "Lisbon, Portugal".
	Location string
	Country  string // ISO 3166-1 alpha-2 code, e.g. "PT"
}

// empty reports whether p carries nothing a person or a comparison could use.
func (p Place) empty() bool { return p == Place{} }

// OpenError says which file could not be used and why, in words fit for a start-up
// error line.
type OpenError struct {
	Path   string
	Reason string
}

func (e *OpenError) Error() string { return e.Path + ": " + e.Reason }

// DB looks addresses up in one or more MaxMind DB files. It is safe for concurrent
// use; Close it only once no lookup can still run.
type DB struct {
	readers []*maxminddb.Reader
}

// Open opens every file in paths, in the order given, and checks that each is a
// MaxMind DB with ASN or location data. Any problem is an *OpenError naming the file.
func Open(paths []string) (*DB, error) {
	if len(paths) == 0 {
		return nil, errors.New("geoip: no database file given")
	}
	db := &DB{}
	for _, p := range paths {
		r, err := maxminddb.Open(p)
		if err != nil {
			db.Close()
			return nil, &OpenError{Path: p, Reason: "not a readable MaxMind DB file (" + oneLine(err) + ")"}
		}
		db.readers = append(db.readers, r)
		if !useful(r.Metadata.DatabaseType) {
			db.Close()
			return nil, &OpenError{Path: p, Reason: fmt.Sprintf(
				"database type %q has no ASN or location data; use a GeoLite2/GeoIP2 ASN, City or Country database",
				r.Metadata.DatabaseType)}
		}
	}
	return db, nil
}

// useful reports whether a database type names data this package reads: MaxMind's
// GeoLite2-ASN, GeoIP2-ISP, -City, -Country and -Enterprise, and the DB-IP
// ASN/City/Country databases, which use the same fields. Anything else (anonymous IP,
// connection type…) would open fine and then never answer, which is worse than a
// start-up error.
func useful(dbType string) bool {
	t := strings.ToLower(dbType)
	for _, k := range []string{"asn", "isp", "city", "country", "enterprise"} {
		if strings.Contains(t, k) {
			return true
		}
	}
	return false
}

// Close releases the files. A lookup after Close finds nothing.
func (db *DB) Close() error {
	var errs []error
	for _, r := range db.readers {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// names holds the one language we show; the databases carry several.
type names struct {
	En string `maxminddb:"en"`
}

// record is the union of the fields of the ASN and City/Country databases; a lookup
// in either kind fills the part it has and leaves the rest empty.
type record struct {
	ASN  uint32 `maxminddb:"autonomous_system_number"`
	Org  string `maxminddb:"autonomous_system_organization"`
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Subdivisions []struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"country"`
	// RegisteredCountry stands in when the database does not know where the address
	// is used, only where its block is registered.
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"registered_country"`
}

// Locate returns what the databases know about ip, and false when none knows
// anything. Private and loopback addresses are looked up like any other: public
// databases do not list them, so they find nothing, but a database that maps an
// internal network does answer for it.
//
// A record the reader cannot decode counts as unknown: the device grant then falls
// back to comparing networks, which is stricter, so a damaged entry can never make
// two places look nearer than they are.
func (db *DB) Locate(ip netip.Addr) (Place, bool) {
	if db == nil || !ip.IsValid() {
		return Place{}, false
	}
	ip = ip.Unmap().WithZone("")
	var p Place
	for _, r := range db.readers {
		res := r.Lookup(ip)
		if !res.Found() {
			continue
		}
		var rec record
		if err := res.Decode(&rec); err != nil {
			continue
		}
		p.merge(rec)
	}
	return p, !p.empty()
}

// merge fills the fields of p still empty from rec.
func (p *Place) merge(rec record) {
	if p.ASN == 0 && rec.ASN != 0 {
		p.ASN, p.Org = rec.ASN, clean(rec.Org)
	}
	country, code := rec.Country.Names.En, rec.Country.ISOCode
	if country == "" && code == "" {
		country, code = rec.RegisteredCountry.Names.En, rec.RegisteredCountry.ISOCode
	}
	if p.Location == "" {
		var sub string
		if len(rec.Subdivisions) > 0 {
			sub = rec.Subdivisions[0].Names.En
		}
		p.Location = location(rec.City.Names.En, sub, country)
	}
	if p.Country == "" {
		p.Country = clean(code)
	}
}

// location joins city, region and country for people, leaving out what is unknown
// and a region that only repeats the city ("Lisbon, Lisbon, Portugal").
func location(city, sub, country string) string {
	var parts []string
	for _, s := range []string{city, sub, country} {
		s = clean(s)
		if s != "" && (len(parts) == 0 || parts[len(parts)-1] != s) {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// clean keeps database text to one short line: it ends up on pages and in the audit
// log, and a database file is input we did not write.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "")
	}
	return s
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
