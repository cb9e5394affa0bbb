package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// value is a setting's text together with how the user would name where it came from.
type value struct {
	text   string
	source string
}

// Load builds the Config: defaults, overridden by the config file, then by environment
// variables, then by flags set on the command line, and finally checked with Validate.
// lookupEnv is usually os.LookupEnv; nil means no environment.
// Every error is a single line naming the setting and where its bad value came from.
func (b *Binding) Load(lookupEnv func(string) (string, bool)) (Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	vals := make(map[string]value, len(settings))
	for _, s := range settings {
		vals[s.name] = value{text: s.def, source: "--" + s.name}
	}

	// The file is named by flag or environment only: a file naming another file helps nobody.
	if f := b.fs.Lookup(keyConfig); f != nil && b.fs.Changed(keyConfig) {
		vals[keyConfig] = value{text: f.Value.String(), source: "--" + keyConfig}
	} else if v, ok := lookupEnv(envName(keyConfig)); ok && v != "" {
		vals[keyConfig] = value{text: v, source: envName(keyConfig)}
	}
	if cf := vals[keyConfig]; cf.text != "" {
		fromFile, err := readFile(cf)
		if err != nil {
			return Config{}, err
		}
		for name, v := range fromFile {
			vals[name] = v
		}
	}

	for _, s := range settings {
		if s.name == keyConfig {
			continue
		}
		if v, ok := lookupEnv(envName(s.name)); ok && v != "" {
			vals[s.name] = value{text: v, source: envName(s.name)}
		}
		if f := b.fs.Lookup(s.name); f != nil && b.fs.Changed(s.name) {
			vals[s.name] = value{text: f.Value.String(), source: "--" + s.name}
		}
	}

	c, err := decode(vals)
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// decode turns the merged text values into a Config, parsing what cannot stay text and
// filling in the defaults that depend on other settings.
func decode(vals map[string]value) (Config, error) {
	c := Config{
		Listen:     vals[keyListen].text,
		BaseURL:    vals[keyBaseURL].text,
		Database:   vals[keyDatabase].text,
		ConfigFile: vals[keyConfig].text,
		SMTPURL:    vals[keySMTPURL].text,
		SMTPFrom:   vals[keySMTPFrom].text,
		TLSCert:    vals[keyTLSCert].text,
		TLSKey:     vals[keyTLSKey].text,
		LogFormat:  vals[keyLogFormat].text,
		LogLevel:   vals[keyLogLevel].text,
		KEKFile:    vals[keyKEKFile].text,
		GeoIPDB:    vals[keyGeoIPDB].text,
		origins:    make(map[string]string, len(vals)),
	}
	for name, v := range vals {
		c.origins[name] = v.source
	}

	var err error
	if c.AutoMigrate, err = parseBool(keyAutoMigrate, vals[keyAutoMigrate]); err != nil {
		return Config{}, err
	}
	if c.DPoPNonce, err = parseBool(keyDPoPNonce, vals[keyDPoPNonce]); err != nil {
		return Config{}, err
	}
	if v := vals[keyRateLimit]; strings.TrimSpace(v.text) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v.text))
		if err != nil || n < 0 || n > 1_000_000 {
			return Config{}, newError(keyRateLimit, v.source, v.text, "must be a whole number from 0 to 1000000")
		}
		c.RateLimit = n
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{keyOutboxInterval, &c.OutboxInterval},
	} {
		if *d.dst, err = parseDuration(d.name, vals[d.name]); err != nil {
			return Config{}, err
		}
	}
	if c.TrustedProxies, err = parseProxies(vals[keyTrustedProxies]); err != nil {
		return Config{}, err
	}
	if c.KEK, err = parseKEK(vals[keyKEK]); err != nil {
		return Config{}, err
	}

	if c.BaseURL == "" {
		c.BaseURL = deriveBaseURL(c.Listen, c.TLSCert != "")
		c.origins[keyBaseURL] = "--base-url (derived from " + c.source(keyListen) + ")"
	} else {
		c.BaseURL = normalizeBaseURL(c.BaseURL)
	}
	if c.SMTPFrom == "" {
		if host := baseHost(c.BaseURL); host != "" {
			c.SMTPFrom = "Gatehouse <no-reply@" + host + ">"
			c.origins[keySMTPFrom] = "--smtp-from (derived from " + c.source(keyBaseURL) + ")"
		}
	}
	if c.KEKFile == "" && c.KEK == nil {
		c.KEKFile = defaultKEKName
		if c.DatabaseKind() == "sqlite" {
			c.KEKFile = filepath.Join(filepath.Dir(c.SQLitePath()), defaultKEKName)
		}
		c.origins[keyKEKFile] = "--kek-file (derived from " + c.source(keyDatabase) + ")"
	}
	return c, nil
}

// baseHost returns the host name of a base URL, bracketed if it is an IPv6 address so that it
// can follow the @ of an email address; it returns "" if the URL does not parse.
func baseHost(base string) string {
	u, err := parseURL(base)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	// An address literal is not a mail domain every parser accepts (Go 1.27's net/mail
	// refuses IPv6 literals), and no-reply mail from an IP is unusual anyway: name the
	// sender at localhost and let operators set --smtp-from for real mail.
	if _, err := netip.ParseAddr(u.Hostname()); err == nil {
		return "localhost"
	}
	return u.Hostname()
}

// parseBool parses a boolean setting, accepting what strconv.ParseBool does.
func parseBool(name string, v value) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(v.text))
	if err != nil {
		return false, newError(name, v.source, v.text, "must be true or false")
	}
	return b, nil
}

// parseDuration parses a duration setting in time.ParseDuration syntax.
func parseDuration(name string, v value) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v.text))
	if err != nil {
		return 0, newError(name, v.source, v.text, "must be a duration such as 90s, 30m or 12h")
	}
	return d, nil
}

// parseProxies parses a comma-separated list of IPs and CIDRs; empty entries are skipped so a
// trailing comma is harmless.
func parseProxies(v value) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(v.text, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		p, reason := parseProxy(entry)
		if reason != "" {
			return nil, newError(keyTrustedProxies, v.source, v.text, fmt.Sprintf("entry %q %s", entry, reason))
		}
		out = append(out, p)
	}
	return out, nil
}

// parseProxy parses one trusted proxy entry, returning a reason when it is not acceptable.
func parseProxy(entry string) (netip.Prefix, string) {
	if strings.Contains(entry, "/") {
		p, err := netip.ParsePrefix(entry)
		if err != nil {
			return netip.Prefix{}, "is not an IP address or CIDR"
		}
		// Host bits usually mean a typo in the address or the length; guessing could trust too much.
		if p != p.Masked() {
			return netip.Prefix{}, fmt.Sprintf("has host bits set; did you mean %s?", p.Masked())
		}
		return p, ""
	}
	ip, err := netip.ParseAddr(entry)
	if err != nil {
		return netip.Prefix{}, "is not an IP address or CIDR"
	}
	if ip.Zone() != "" {
		return netip.Prefix{}, "must not have an IPv6 zone"
	}
	// Peers arrive as plain IPv4 even on dual-stack listeners, so hold ::ffff:a.b.c.d the same way.
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), ""
}

// parseKEK decodes a base64 key-encryption key, standard or URL alphabet, padded or not.
func parseKEK(v value) ([]byte, error) {
	text := strings.TrimSpace(v.text)
	if text == "" {
		return nil, nil
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err := enc.DecodeString(text)
		if err != nil {
			continue
		}
		if len(key) != kekSize {
			return nil, newError(keyKEK, v.source, v.text,
				fmt.Sprintf("decodes to %d bytes, want %d (generate one with: openssl rand -base64 32)", len(key), kekSize))
		}
		return key, nil
	}
	return nil, newError(keyKEK, v.source, v.text,
		"must be base64 of 32 random bytes (generate one with: openssl rand -base64 32)")
}

// readFile reads the YAML config file named by cf into values keyed by setting name.
func readFile(cf value) (map[string]value, error) {
	fail := func(reason string) error { return newError(keyConfig, cf.source, cf.text, reason) }
	data, err := os.ReadFile(cf.text)
	if err != nil {
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		return nil, fail(err.Error())
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fail(err.Error())
	}
	if len(doc.Content) == 0 {
		return nil, nil // An empty file sets nothing.
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fail(fmt.Sprintf("line %d: want a mapping of setting names to values", root.Line))
	}

	out := make(map[string]value, len(root.Content)/2)
	seen := make(map[string]int, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		name := k.Value
		s, known := lookupSetting(name)
		if !known || name == keyConfig {
			return nil, fail(fmt.Sprintf("unknown key %q at line %d", name, k.Line))
		}
		if first, dup := seen[name]; dup {
			return nil, fail(fmt.Sprintf("key %q at line %d repeats line %d", name, k.Line, first))
		}
		seen[name] = k.Line
		source := fmt.Sprintf("%s (%s:%d)", name, cf.text, k.Line)
		text, ok := scalarText(s, v)
		if !ok {
			return nil, newError(name, source, "", "must be a single value, not a list or mapping")
		}
		out[name] = value{text: text, source: source}
	}
	return out, nil
}

// scalarText returns the text of a YAML value; only trusted-proxies may also be a list.
func scalarText(s setting, n *yaml.Node) (string, bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "", true
		}
		return n.Value, true
	case yaml.SequenceNode:
		if s.name != keyTrustedProxies {
			return "", false
		}
		items := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return "", false
			}
			items = append(items, item.Value)
		}
		return strings.Join(items, ","), true
	}
	return "", false
}
