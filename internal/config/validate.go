package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// kekSize is the length of a key-encryption key: an AES-256 key.
const kekSize = 32

// SettingError reports one bad setting.
// Its text is a single line such as `invalid GATEHOUSE_LOG_FORMAT "xml": must be text or json`.
type SettingError struct {
	// Setting is the canonical flag name without dashes, e.g. "log-format".
	Setting string
	// Source is how the user gave the value: "--log-format", "GATEHOUSE_LOG_FORMAT",
	// "log-format (gatehouse.yaml:3)", or "--base-url (derived from --listen)".
	Source string
	// Value is the offending value, with any password replaced by "xxxxx"; empty for a secret
	// that cannot be shown at all.
	Value string
	// Reason says what is wrong and, where it helps, what to do instead.
	Reason string

	hideValue bool
}

// Error returns the one-line description of the bad setting.
func (e *SettingError) Error() string {
	var b strings.Builder
	b.WriteString("invalid ")
	b.WriteString(e.Source)
	if !e.hideValue {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	// Error text ends up in one log record; a stray newline from a wrapped error would split it.
	return strings.ReplaceAll(b.String(), "\n", " ")
}

// newError reports the raw value of setting name from source, hiding what a log must not hold.
func newError(name, source, raw, reason string) *SettingError {
	e := &SettingError{Setting: name, Source: source, Value: raw, Reason: reason}
	if s, _ := lookupSetting(name); s.secret {
		e.Value, e.hideValue = redact(raw)
	}
	return e
}

// newBareError reports a setting without repeating its value.
func newBareError(name, source, reason string) *SettingError {
	return &SettingError{Setting: name, Source: source, Reason: reason, hideValue: true}
}

// redact returns a secret setting's value fit for a log: sqlite paths as they are, URLs with
// the password and query (where libpq also accepts a password) masked, and anything else hidden.
func redact(raw string) (shown string, hide bool) {
	if strings.HasPrefix(raw, "sqlite:") {
		return raw, false
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.Contains(raw, "://") {
		return "", true
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	u.Fragment, u.RawFragment = "", ""
	return u.Redacted(), false
}

// parseURL is url.Parse without the raw URL in its error, which may hold a password.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return nil, ue.Err
	}
	return u, err
}

// Validate checks every setting and returns the first problem as a *SettingError, or nil.
// It reads the TLS and GeoIP files to make sure they are usable before the server starts.
func (c Config) Validate() error {
	checks := []func() error{
		c.checkListen, c.checkBaseURL, c.checkDatabase, c.checkSMTP, c.checkProxies,
		c.checkTLS, c.checkLogging, c.checkKEK, c.checkDurations, c.checkGeoIP,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// fail reports that the setting called name, holding raw, is wrong for reason.
func (c Config) fail(name, raw, reason string) error {
	return newError(name, c.source(name), raw, reason)
}

func (c Config) checkListen() error {
	_, port, err := net.SplitHostPort(c.Listen)
	if ae, ok := errors.AsType[*net.AddrError](err); ok {
		return c.fail(keyListen, c.Listen, ae.Err+" (want host:port, e.g. 127.0.0.1:8080)")
	} else if err != nil {
		return c.fail(keyListen, c.Listen, err.Error())
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return c.fail(keyListen, c.Listen, "port must be a number from 0 to 65535")
	}
	return nil
}

func (c Config) checkBaseURL() error {
	bad := func(reason string) error { return c.fail(keyBaseURL, c.BaseURL, reason) }
	u, err := parseURL(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return bad("must be set, e.g. https://id.example.com")
	case err != nil:
		return bad(err.Error())
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("must be an absolute http or https URL, e.g. https://id.example.com")
	case u.Host == "" || u.Hostname() == "":
		return bad("must include a host")
	case u.User != nil:
		return bad("must not include a user name or password")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("must not include a query")
	case u.Fragment != "" || strings.Contains(c.BaseURL, "#"):
		return bad("must not include a fragment")
	case strings.HasSuffix(c.BaseURL, "/"):
		return bad("must not end with a slash")
	case u.Scheme == "http" && !isLocalHost(u.Hostname()):
		return bad("http is only allowed for localhost or a loopback IP because passkeys need a secure context; " +
			"use https, or terminate TLS in a proxy and set --base-url to its https URL")
	}
	return nil
}

func (c Config) checkDatabase() error {
	switch c.DatabaseKind() {
	case "sqlite":
		if c.SQLitePath() == "" {
			return c.fail(keyDatabase, c.Database, "sqlite: needs a file path, e.g. sqlite:gatehouse.db")
		}
		return nil
	case "postgres":
		if _, err := parseURL(c.Database); err != nil {
			return c.fail(keyDatabase, c.Database, err.Error())
		}
		return nil
	}
	return c.fail(keyDatabase, c.Database, "must be sqlite:PATH or a postgres:// URL")
}

func (c Config) checkSMTP() error {
	if c.SMTPURL != "" {
		bad := func(reason string) error { return c.fail(keySMTPURL, c.SMTPURL, reason) }
		u, err := parseURL(c.SMTPURL)
		if err != nil {
			return bad(err.Error())
		}
		switch u.Scheme {
		case "smtp", "smtps", "smtp+starttls":
		default:
			return bad("scheme must be smtp, smtps or smtp+starttls")
		}
		if u.Hostname() == "" {
			return bad("must include a host, e.g. smtp://mail.example.com:587")
		}
		if n, err := strconv.ParseUint(u.Port(), 10, 16); err != nil || n == 0 {
			return bad("must include a port from 1 to 65535, e.g. smtp://mail.example.com:587")
		}
	}
	if c.SMTPFrom != "" {
		if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
			return c.fail(keySMTPFrom, c.SMTPFrom, `must be an email address such as "Gatehouse <no-reply@example.com>": `+err.Error())
		}
	}
	return nil
}

func (c Config) checkProxies() error {
	for _, p := range c.TrustedProxies {
		if !p.IsValid() || p != p.Masked() {
			return c.fail(keyTrustedProxies, p.String(), fmt.Sprintf("entry %q is not a valid CIDR", p))
		}
	}
	return nil
}

func (c Config) checkTLS() error {
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		return newBareError(keyTLSKey, c.source(keyTLSKey), "must be set when "+c.source(keyTLSCert)+" is set")
	case c.TLSKey != "" && c.TLSCert == "":
		return newBareError(keyTLSCert, c.source(keyTLSCert), "must be set when "+c.source(keyTLSKey)+" is set")
	}
	for _, name := range []string{keyTLSCert, keyTLSKey} {
		path := c.TLSCert
		if name == keyTLSKey {
			path = c.TLSKey
		}
		if path == "" {
			continue
		}
		if reason := unreadable(path); reason != "" {
			return c.fail(name, path, reason)
		}
	}
	return nil
}

func (c Config) checkLogging() error {
	switch c.LogFormat {
	case "text", "json":
	default:
		return c.fail(keyLogFormat, c.LogFormat, "must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c.fail(keyLogLevel, c.LogLevel, "must be debug, info, warn or error")
	}
	return nil
}

func (c Config) checkKEK() error {
	switch {
	case c.KEK != nil && c.KEKFile != "":
		return c.fail(keyKEKFile, c.KEKFile, "cannot be combined with "+c.source(keyKEK)+"; set only one")
	case c.KEK != nil && len(c.KEK) != kekSize:
		return newBareError(keyKEK, c.source(keyKEK), fmt.Sprintf("must be %d bytes, not %d", kekSize, len(c.KEK)))
	case c.KEK == nil && c.KEKFile == "":
		return newBareError(keyKEKFile, c.source(keyKEKFile), "must be set, or --kek given instead")
	}
	return nil
}

func (c Config) checkDurations() error {
	for _, d := range []struct {
		name  string
		value fmt.Stringer
		ok    bool
	}{
		{keyOutboxInterval, c.OutboxInterval, c.OutboxInterval > 0},
	} {
		if !d.ok {
			return c.fail(d.name, d.value.String(), "must be positive")
		}
	}
	return nil
}

func (c Config) checkGeoIP() error {
	for _, f := range c.GeoIPFiles() {
		if f == "" {
			return c.fail(keyGeoIPDB, c.GeoIPDB, "has an empty entry; give file paths separated by commas")
		}
		if reason := unreadable(f); reason != "" {
			return c.fail(keyGeoIPDB, f, reason)
		}
	}
	return nil
}

// unreadable returns why path cannot be read as a regular file, or "" if it can.
func unreadable(path string) string {
	f, err := os.Open(path)
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			return pe.Err.Error()
		}
		return err.Error()
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	if !info.Mode().IsRegular() {
		return "is not a regular file"
	}
	return ""
}
