package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidationErrors(t *testing.T) {
	cert := MustWriteFile(t, "cert.pem", "cert")
	dir := t.TempDir()
	tests := []struct {
		name    string
		env     env
		args    []string
		setting string // SettingError.Setting
		want    string // the whole message, or a prefix of it ending in ": "
	}{
		{"listen without port", nil, []string{"--listen", "abc"}, "listen",
			`invalid --listen "abc": missing port in address (want host:port, e.g. 127.0.0.1:8080)`},
		{"listen port not a number", env{"GATEHOUSE_LISTEN": "localhost:http"}, nil, "listen",
			`invalid GATEHOUSE_LISTEN "localhost:http": port must be a number from 0 to 65535`},
		{"base-url plain http on a public host", nil, []string{"--base-url", "http://id.example.com"}, "base-url",
			`invalid --base-url "http://id.example.com": http is only allowed for localhost or a loopback IP`},
		{"derived base-url from public listen", env{"GATEHOUSE_LISTEN": "0.0.0.0:8080"}, nil, "base-url",
			`invalid --base-url (derived from GATEHOUSE_LISTEN) "http://0.0.0.0:8080": http is only allowed`},
		{"base-url relative", nil, []string{"--base-url", "id.example.com"}, "base-url",
			`invalid --base-url "id.example.com": must be an absolute http or https URL`},
		{"base-url with query", nil, []string{"--base-url", "https://id.example.com/?a=b"}, "base-url",
			`invalid --base-url "https://id.example.com?a=b": must not include a query`},
		{"base-url with fragment", nil, []string{"--base-url", "https://id.example.com#x"}, "base-url",
			`invalid --base-url "https://id.example.com#x": must not include a fragment`},
		{"base-url with user", nil, []string{"--base-url", "https://u@id.example.com"}, "base-url",
			`invalid --base-url "https://u@id.example.com": must not include a user name or password`},
		{"database unknown kind", env{"GATEHOUSE_DATABASE": "mysql://db"}, nil, "database",
			`invalid GATEHOUSE_DATABASE "mysql://db": must be sqlite:PATH or a postgres:// URL`},
		{"database empty sqlite path", nil, []string{"--database", "sqlite:"}, "database",
			`invalid --database "sqlite:": sqlite: needs a file path`},
		{"smtp-url scheme", nil, []string{"--smtp-url", "http://mail.example.com:25"}, "smtp-url",
			`invalid --smtp-url "http://mail.example.com:25": scheme must be smtp, smtps or smtp+starttls`},
		{"smtp-url without port", nil, []string{"--smtp-url", "smtps://u:hunter2@mail.example.com?password=hunter2"},
			"smtp-url", `invalid --smtp-url "smtps://u:xxxxx@mail.example.com?xxxxx": must include a port`},
		{"smtp-url without host", nil, []string{"--smtp-url", "smtp://:25"}, "smtp-url",
			`invalid --smtp-url "smtp://:25": must include a host`},
		{"smtp-from", env{"GATEHOUSE_SMTP_FROM": "not an address"}, nil, "smtp-from",
			`invalid GATEHOUSE_SMTP_FROM "not an address": must be an email address`},
		{"trusted-proxies names the bad entry", nil, []string{"--trusted-proxies", "10.0.0.1, 10.0.0.300"},
			"trusted-proxies",
			`invalid --trusted-proxies "10.0.0.1, 10.0.0.300": entry "10.0.0.300" is not an IP address or CIDR`},
		{"trusted-proxies host bits", nil, []string{"--trusted-proxies", "10.1.2.3/8"}, "trusted-proxies",
			`invalid --trusted-proxies "10.1.2.3/8": entry "10.1.2.3/8" has host bits set; did you mean 10.0.0.0/8?`},
		{"tls-cert without key", nil, []string{"--tls-cert", cert}, "tls-key",
			`invalid --tls-key: must be set when --tls-cert is set`},
		{"tls-key without cert", env{"GATEHOUSE_TLS_KEY": cert}, nil, "tls-cert",
			`invalid --tls-cert: must be set when GATEHOUSE_TLS_KEY is set`},
		{"tls-key missing file", nil, []string{"--tls-cert", cert, "--tls-key", "/nonexistent/key.pem"}, "tls-key",
			`invalid --tls-key "/nonexistent/key.pem": no such file or directory`},
		{"tls-cert is a directory", nil, []string{"--tls-cert", dir, "--tls-key", cert}, "tls-cert",
			`invalid --tls-cert "` + dir + `": is not a regular file`},
		{"log-format", env{"GATEHOUSE_LOG_FORMAT": "xml"}, nil, "log-format",
			`invalid GATEHOUSE_LOG_FORMAT "xml": must be text or json`},
		{"log-level", nil, []string{"--log-level", "verbose"}, "log-level",
			`invalid --log-level "verbose": must be debug, info, warn or error`},
		{"auto-migrate from environment", env{"GATEHOUSE_AUTO_MIGRATE": "yes"}, nil, "auto-migrate",
			`invalid GATEHOUSE_AUTO_MIGRATE "yes": must be true or false`},
		{"kek and kek-file", env{"GATEHOUSE_KEK": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="},
			[]string{"--kek-file", "k.kek"}, "kek-file",
			`invalid --kek-file "k.kek": cannot be combined with GATEHOUSE_KEK; set only one`},
		{"geoip-db missing", nil, []string{"--geoip-db", "/nonexistent/geo.mmdb"}, "geoip-db",
			`invalid --geoip-db "/nonexistent/geo.mmdb": no such file or directory`},
		{"geoip-db second of two missing", nil, []string{"--geoip-db", cert + ", /nonexistent/city.mmdb"}, "geoip-db",
			`invalid --geoip-db "/nonexistent/city.mmdb": no such file or directory`},
		{"geoip-db empty entry", env{"GATEHOUSE_GEOIP_DB": cert + ","}, nil, "geoip-db",
			`invalid GATEHOUSE_GEOIP_DB "` + cert + `,": has an empty entry`},
		{"outbox-interval", env{"GATEHOUSE_OUTBOX_INTERVAL": "-1s"}, nil, "outbox-interval",
			`invalid GATEHOUSE_OUTBOX_INTERVAL "-1s": must be positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MustBind(t, tt.args...).Load(tt.env.lookup)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, tt.want) {
				t.Errorf("error\n got %s\nwant %s", msg, tt.want)
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Setting != tt.setting {
				t.Errorf("error %#v does not name setting %q", err, tt.setting)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error %q leaks a password", msg)
			}
		})
	}
}

func TestValidateHandBuilt(t *testing.T) {
	valid := Config{
		Listen: "127.0.0.1:0", BaseURL: "https://id.example.com", Database: "postgres://u:p@db/gatehouse",
		LogFormat: "json", LogLevel: "warn", KEKFile: "gatehouse.kek",
		OutboxInterval: time.Second,
	}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"trailing slash", func(c *Config) { c.BaseURL += "/" },
			`invalid --base-url "https://id.example.com/": must not end with a slash`},
		{"no key", func(c *Config) { c.KEKFile = "" }, `invalid --kek-file: must be set, or --kek given instead`},
		{"short key", func(c *Config) { c.KEKFile, c.KEK = "", []byte("short") }, `invalid --kek: must be 32 bytes, not 5`},
		{"unparsable postgres url is not repeated", func(c *Config) { c.Database = "postgres://u:secret@db:port/x" },
			`invalid --database: invalid port ":port" after host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}
