package config

import (
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// kind says how a setting's text is parsed and how its flag is registered.
type kind int

const (
	kindText kind = iota
	kindBool
	kindDuration
)

// setting describes one configuration value, known by the same name as a flag, a config file key
// and (upper-cased) an environment variable.
type setting struct {
	name  string
	kind  kind
	def   string // default as text; empty when there is none or it is derived in Load
	usage string
	// secret values are never repeated back in error messages, which end up in logs.
	secret bool
}

// Setting names, shared by flags, config file keys and environment variables.
const (
	keyListen         = "listen"
	keyBaseURL        = "base-url"
	keyDatabase       = "database"
	keyConfig         = "config"
	keySMTPURL        = "smtp-url"
	keySMTPFrom       = "smtp-from"
	keyTrustedProxies = "trusted-proxies"
	keyTLSCert        = "tls-cert"
	keyTLSKey         = "tls-key"
	keyLogFormat      = "log-format"
	keyLogLevel       = "log-level"
	keyAutoMigrate    = "auto-migrate"
	keyKEKFile        = "kek-file"
	keyKEK            = "kek"
	keyGeoIPDB        = "geoip-db"
	keyOutboxInterval = "outbox-interval"
	keyRateLimit      = "rate-limit"
	keyDPoPNonce      = "dpop-nonce"
)

// Defaults that are not derived from other settings.
const (
	defaultListen         = "127.0.0.1:8080"
	defaultDatabase       = "sqlite:gatehouse.db"
	defaultLogFormat      = "text"
	defaultLogLevel       = "info"
	defaultOutboxInterval = time.Second
	// defaultKEKName is the key-encryption key file name used when --kek-file is not given.
	defaultKEKName = "gatehouse.kek"
)

// envPrefix starts every environment variable Gatehouse reads.
const envPrefix = "GATEHOUSE_"

// settings lists every setting in the order Validate checks them.
// It is a read-only table describing the flags, never modified, so it holds no configuration state.
var settings = []setting{
	{name: keyListen, def: defaultListen,
		usage: "address to listen on, as host:port (port 0 picks a free port)"},
	{name: keyBaseURL,
		usage: "public URL browsers use to reach Gatehouse, e.g. https://id.example.com; " +
			"http is only allowed for localhost " +
			"(default http://localhost:PORT for a loopback --listen, https when --tls-cert is set)"},
	{name: keyDatabase, def: defaultDatabase, secret: true,
		usage: "database to use: sqlite:PATH or postgres://user:pass@host/dbname"},
	{name: keyConfig,
		usage: "YAML file of settings keyed by flag name; flags and GATEHOUSE_* variables override it"},
	{name: keySMTPURL, secret: true,
		usage: "mail server as smtp://user:pass@host:port, smtps://... (implicit TLS) " +
			"or smtp+starttls://...; unset means no mail server"},
	{name: keySMTPFrom,
		usage: "sender address for outgoing email (default \"Gatehouse <no-reply@HOST>\", HOST taken from --base-url)"},
	{name: keyTrustedProxies,
		usage: "comma-separated IPs or CIDRs of reverse proxies whose forwarded client address is believed"},
	{name: keyTLSCert,
		usage: "PEM certificate file to serve HTTPS directly; requires --tls-key"},
	{name: keyTLSKey,
		usage: "PEM private key file for --tls-cert"},
	{name: keyLogFormat, def: defaultLogFormat,
		usage: "log format: text or json"},
	{name: keyLogLevel, def: defaultLogLevel,
		usage: "lowest level logged: debug, info, warn or error"},
	{name: keyAutoMigrate, kind: kindBool, def: "false",
		usage: "apply pending database migrations at startup"},
	{name: keyKEKFile,
		usage: "file holding the key-encryption key that protects stored secrets " +
			"(default gatehouse.kek next to the SQLite database, or in the working directory for PostgreSQL)"},
	{name: keyKEK, secret: true,
		usage: "key-encryption key as base64 of 32 random bytes, instead of --kek-file; " +
			"prefer GATEHOUSE_KEK, since flags are visible to other local users"},
	{name: keyGeoIPDB,
		usage: "MaxMind DB files (GeoLite2/GeoIP2 ASN, City or Country), comma-separated, for the ASN and " +
			"approximate location of addresses; optional"},
	{name: keyOutboxInterval, kind: kindDuration, def: defaultOutboxInterval.String(),
		usage: "how often the outbox of pending messages is polled"},
	{name: keyRateLimit, def: "50",
		usage: "HTTP requests per second allowed from one client IP, in bursts of up to four times that; 0 turns the limit off"},
	{name: keyDPoPNonce, kind: kindBool, def: "false",
		usage: "require DPoP proofs at the token and userinfo endpoints and the admin API to carry a server-issued nonce (RFC 9449 sections 8 and 9)"},
}

// lookupSetting returns the setting called name.
func lookupSetting(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

// envName returns the environment variable for a setting: --base-url is GATEHOUSE_BASE_URL.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Binding connects a flag set to Load; it remembers which flag set to read after parsing.
type Binding struct {
	fs *pflag.FlagSet
}

// Bind registers every Gatehouse setting as a flag on fs, typically a cobra command's Flags(),
// and returns the Binding whose Load reads them back after parsing.
// It panics if fs already defines one of the flags, as pflag does for any redefinition.
func Bind(fs *pflag.FlagSet) *Binding {
	for _, s := range settings {
		usage := s.usage + " [" + envName(s.name) + "]"
		switch s.kind {
		case kindBool:
			fs.Bool(s.name, s.def == "true", usage)
		case kindDuration:
			d, err := time.ParseDuration(s.def)
			if err != nil {
				panic("config: bad default for " + s.name + ": " + err.Error())
			}
			fs.Duration(s.name, d, usage)
		default:
			fs.String(s.name, s.def, usage)
		}
	}
	return &Binding{fs: fs}
}
