package config

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
)

func TestDerivedBaseURL(t *testing.T) {
	cert := MustWriteFile(t, "cert.pem", "cert")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"default listen", nil, "http://localhost:8080"},
		{"empty host", []string{"--listen", ":9000"}, "http://localhost:9000"},
		{"localhost", []string{"--listen", "localhost:9000"}, "http://localhost:9000"},
		{"IPv6 loopback", []string{"--listen", "[::1]:9000"}, "http://localhost:9000"},
		{"other loopback", []string{"--listen", "127.0.0.2:9000"}, "http://localhost:9000"},
		{"tls on loopback", []string{"--tls-cert", cert, "--tls-key", cert}, "https://localhost:8080"},
		{"tls on public address", []string{"--listen", "192.0.2.10:8443", "--tls-cert", cert, "--tls-key", cert},
			"https://192.0.2.10:8443"},
		{"tls on default port", []string{"--listen", "[2001:db8::1]:443", "--tls-cert", cert, "--tls-key", cert},
			"https://[2001:db8::1]"},
		{"explicit wins", []string{"--listen", "0.0.0.0:8080", "--base-url", "https://id.example.com/"},
			"https://id.example.com"},
		{"explicit keeps path prefix", []string{"--base-url", "https://example.com:443/id/"}, "https://example.com/id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustLoad(t, nil, tt.args...).BaseURL; got != tt.want {
				t.Errorf("BaseURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCookieNameAndIssuer(t *testing.T) {
	tests := []struct {
		base       string
		secure     bool
		cookie     string
		issuerAcme string
	}{
		{"http://localhost:8080", false, "gh_session", "http://localhost:8080/t/acme"},
		{"http://127.0.0.1:8080", false, "gh_session", "http://127.0.0.1:8080/t/acme"},
		{"https://id.example.com", true, "__Host-gh_session", "https://id.example.com/t/acme"},
		{"https://example.com/id", true, "__Host-gh_session", "https://example.com/id/t/acme"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			c := MustLoad(t, env{"GATEHOUSE_BASE_URL": tt.base})
			if c.Secure() != tt.secure || c.CookieName() != tt.cookie || c.Issuer("acme") != tt.issuerAcme {
				t.Errorf("Secure, CookieName, Issuer = %v, %q, %q; want %v, %q, %q",
					c.Secure(), c.CookieName(), c.Issuer("acme"), tt.secure, tt.cookie, tt.issuerAcme)
			}
		})
	}
}

func TestDatabaseDerivations(t *testing.T) {
	tests := []struct {
		database, kind, sqlitePath, kekFile string
	}{
		{"sqlite:gatehouse.db", "sqlite", "gatehouse.db", "gatehouse.kek"},
		{"sqlite:/var/lib/gatehouse/gh.db", "sqlite", "/var/lib/gatehouse/gh.db",
			filepath.FromSlash("/var/lib/gatehouse/gatehouse.kek")},
		{"postgres://gh@db.internal/gatehouse", "postgres", "", "gatehouse.kek"},
		{"postgresql:///gatehouse?host=/run/postgresql", "postgres", "", "gatehouse.kek"},
	}
	for _, tt := range tests {
		t.Run(tt.database, func(t *testing.T) {
			c := MustLoad(t, nil, "--database", tt.database)
			if c.DatabaseKind() != tt.kind || c.SQLitePath() != tt.sqlitePath || c.KEKFile != tt.kekFile {
				t.Errorf("DatabaseKind, SQLitePath, KEKFile = %q, %q, %q; want %q, %q, %q",
					c.DatabaseKind(), c.SQLitePath(), c.KEKFile, tt.kind, tt.sqlitePath, tt.kekFile)
			}
		})
	}
}

func TestDerivedSMTPFrom(t *testing.T) {
	tests := []struct {
		base, want string
	}{
		{"https://id.example.com:8443/x", "Gatehouse <no-reply@id.example.com>"},
		{"http://localhost:8080", "Gatehouse <no-reply@localhost>"},
		{"http://[::1]:8080", "Gatehouse <no-reply@localhost>"},
		{"http://127.0.0.1:8080", "Gatehouse <no-reply@localhost>"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			if got := MustLoad(t, nil, "--base-url", tt.base).SMTPFrom; got != tt.want {
				t.Errorf("SMTPFrom = %q, want %q", got, tt.want)
			}
		})
	}
	if got := MustLoad(t, nil, "--smtp-from", "Acme <id@acme.test>").SMTPFrom; got != "Acme <id@acme.test>" {
		t.Errorf("explicit SMTPFrom = %q, want it kept", got)
	}
}

func TestLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		if got := MustLoad(t, nil, "--log-level", name).Level(); got != want {
			t.Errorf("Level() for %q = %v, want %v", name, got, want)
		}
	}
}

func TestGeoIPFiles(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  ", nil},
		{"/geo/GeoLite2-City.mmdb", []string{"/geo/GeoLite2-City.mmdb"}},
		{"/geo/asn.mmdb, /geo/city.mmdb", []string{"/geo/asn.mmdb", "/geo/city.mmdb"}},
		{"/geo/asn.mmdb,", []string{"/geo/asn.mmdb", ""}},
	}
	for _, tt := range tests {
		if got := (Config{GeoIPDB: tt.in}).GeoIPFiles(); !slices.Equal(got, tt.want) {
			t.Errorf("GeoIPFiles(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
