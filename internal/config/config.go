// Package config gathers Gatehouse's settings into one Config value.
//
// Every setting has one name used three ways: a flag (--base-url), an environment variable
// (GATEHOUSE_BASE_URL) and a key in the optional YAML config file (base-url: ...).
// A flag given on the command line beats the environment, which beats the file, which beats
// the built-in default. An empty environment variable counts as unset, so that
// "GATEHOUSE_SMTP_URL=${SMTP_URL}" in a compose file does not clear a value from the file.
// Relative paths are relative to the working directory, wherever they were written.
//
// Nothing here is global: main binds the flags, calls Load and passes the Config on.
package config

import (
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Config is Gatehouse's complete configuration.
// Load returns it filled in and valid; a Config built by hand should be checked with Validate.
type Config struct {
	// Listen is the host:port the HTTP server listens on.
	Listen string
	// BaseURL is the public origin (and optional path prefix) browsers use, without a trailing slash.
	BaseURL string
	// Database is "sqlite:PATH" or a postgres:// or postgresql:// URL.
	Database string
	// ConfigFile is the YAML file the settings were read from, if any.
	ConfigFile string
	// SMTPURL is the mail server (smtp://, smtps:// or smtp+starttls://); empty when none is configured.
	SMTPURL string
	// SMTPFrom is the sender address of outgoing email, in net/mail syntax.
	SMTPFrom string
	// TrustedProxies are the reverse proxies whose forwarded client address may be believed.
	// A single IP is held as a full-length prefix.
	TrustedProxies []netip.Prefix
	// TLSCert and TLSKey are PEM files for serving HTTPS directly; both empty behind a proxy.
	TLSCert string
	// TLSKey is the private key matching TLSCert.
	TLSKey string
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// AutoMigrate applies pending database migrations at startup.
	AutoMigrate bool
	// KEKFile is where the key-encryption key is kept; empty when KEK is given directly.
	// Config only names the file: whether a missing one is created is up to the key's owner.
	KEKFile string
	// KEK is the 32-byte key-encryption key given directly, or nil to use KEKFile.
	KEK []byte
	// GeoIPDB is an optional comma-separated list of MaxMind DB files (say an ASN
	// database and a City database); see GeoIPFiles.
	GeoIPDB string
	// RateLimit is the requests per second allowed per client IP (0: no limit).
	RateLimit int
	// DPoPNonce makes DPoP proofs at the token and userinfo endpoints carry a nonce
	// the server issued (RFC 9449 §8, §9).
	DPoPNonce bool
	// OutboxInterval is how often the outbox of pending messages is polled.
	OutboxInterval time.Duration

	// origins records where each setting came from, so errors can name what the user typed.
	// It is nil for a Config built by hand; errors then use the flag names.
	origins map[string]string
}

// DatabaseKind returns "sqlite" or "postgres" according to Database, or "" if it is neither.
func (c Config) DatabaseKind() string {
	switch {
	case strings.HasPrefix(c.Database, "sqlite:"):
		return "sqlite"
	case strings.HasPrefix(c.Database, "postgres://"), strings.HasPrefix(c.Database, "postgresql://"):
		return "postgres"
	}
	return ""
}

// SQLitePath returns the file path of a sqlite: Database, or "" for any other database.
func (c Config) SQLitePath() string {
	if c.DatabaseKind() != "sqlite" {
		return ""
	}
	return strings.TrimPrefix(c.Database, "sqlite:")
}

// Secure reports whether BaseURL is https, which decides cookie names and the Secure attribute.
func (c Config) Secure() bool {
	u, err := url.Parse(c.BaseURL)
	return err == nil && u.Scheme == "https"
}

// CookieName returns the session cookie name.
// Over https it carries the __Host- prefix, so the browser refuses the cookie unless it is
// Secure, host-only and for path /; plain-http localhost cannot use the prefix.
func (c Config) CookieName() string {
	if c.Secure() {
		return "__Host-gh_session"
	}
	return "gh_session"
}

// Issuer returns the OpenID Connect issuer of a tenant: {BaseURL}/t/{tenant}.
func (c Config) Issuer(tenant string) string {
	return strings.TrimSuffix(c.BaseURL, "/") + "/t/" + url.PathEscape(tenant)
}

// GeoIPFiles returns the files named in GeoIPDB, in order, without surrounding spaces;
// nil when it is empty.
func (c Config) GeoIPFiles() []string {
	if strings.TrimSpace(c.GeoIPDB) == "" {
		return nil
	}
	files := strings.Split(c.GeoIPDB, ",")
	for i, f := range files {
		files[i] = strings.TrimSpace(f)
	}
	return files
}

// GeoIPError reports that file, one of GeoIPFiles, cannot be used for reason, as a
// one-line *SettingError naming the setting the way the user gave it. Validate only
// checks the files can be read; whoever opens them as databases reports with this.
func (c Config) GeoIPError(file, reason string) error {
	return c.fail(keyGeoIPDB, file, reason)
}

// Level returns LogLevel as a slog.Level; an unknown level (which Validate rejects) is Info.
func (c Config) Level() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// source returns how the user wrote the setting called name: "--listen", "GATEHOUSE_LISTEN",
// or "listen (gatehouse.yaml:3)"; defaults and hand-built values are named by their flag.
func (c Config) source(name string) string {
	if s, ok := c.origins[name]; ok {
		return s
	}
	return "--" + name
}

// isLocalHost reports whether host names this machine: WebAuthn treats http://localhost and
// loopback addresses as secure contexts, and no other plain-http origin.
func isLocalHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}

// deriveBaseURL returns the base URL implied by the listen address, or "" if listen is malformed.
// A loopback listener becomes "localhost" because WebAuthn relying party IDs cannot be IP addresses.
func deriveBaseURL(listen string, tls bool) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if host == "" || isLocalHost(host) {
		host = "localhost"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return normalizeBaseURL(scheme + "://" + net.JoinHostPort(host, port))
}

// normalizeBaseURL puts a base URL in the form browsers report as an origin: lower-case scheme
// and host, no default port, no trailing slash.
// WebAuthn compares origins as strings, so "https://ID.example.com:443/" would never match.
// A value that does not parse is returned unchanged for Validate to report.
func normalizeBaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return strings.TrimRight(raw, "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		u.Host = strings.TrimSuffix(u.Host, ":"+p)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String()
}
