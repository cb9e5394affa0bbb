package config

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	file := MustWriteFile(t, "gatehouse.yaml", `
listen: 127.0.0.1:1111
log-level: warn
auto-migrate: true
outbox-interval: 1h
`)
	tests := []struct {
		name string
		env  env
		args []string
		want Config // only the fields compared below
	}{
		{
			name: "defaults",
			want: Config{Listen: "127.0.0.1:8080", LogLevel: "info", AutoMigrate: false, OutboxInterval: time.Second},
		},
		{
			name: "file over defaults",
			args: []string{"--config", file},
			want: Config{Listen: "127.0.0.1:1111", LogLevel: "warn", AutoMigrate: true, OutboxInterval: time.Hour},
		},
		{
			name: "file named by environment",
			env:  env{"GATEHOUSE_CONFIG": file},
			want: Config{Listen: "127.0.0.1:1111", LogLevel: "warn", AutoMigrate: true, OutboxInterval: time.Hour},
		},
		{
			name: "environment over file",
			env: env{"GATEHOUSE_LISTEN": "127.0.0.1:2222", "GATEHOUSE_LOG_LEVEL": "error",
				"GATEHOUSE_AUTO_MIGRATE": "false", "GATEHOUSE_OUTBOX_INTERVAL": "2h"},
			args: []string{"--config", file},
			want: Config{Listen: "127.0.0.1:2222", LogLevel: "error", AutoMigrate: false, OutboxInterval: 2 * time.Hour},
		},
		{
			name: "flags over environment and file",
			env: env{"GATEHOUSE_LISTEN": "127.0.0.1:2222", "GATEHOUSE_LOG_LEVEL": "error",
				"GATEHOUSE_AUTO_MIGRATE": "false", "GATEHOUSE_OUTBOX_INTERVAL": "2h"},
			args: []string{"--config", file, "--listen", "127.0.0.1:3333", "--log-level", "debug",
				"--auto-migrate", "--outbox-interval", "3h"},
			want: Config{Listen: "127.0.0.1:3333", LogLevel: "debug", AutoMigrate: true, OutboxInterval: 3 * time.Hour},
		},
		{
			name: "flag set to its default still beats environment",
			env:  env{"GATEHOUSE_LOG_LEVEL": "error", "GATEHOUSE_AUTO_MIGRATE": "true"},
			args: []string{"--log-level", "info", "--auto-migrate=false"},
			want: Config{Listen: "127.0.0.1:8080", LogLevel: "info", AutoMigrate: false, OutboxInterval: time.Second},
		},
		{
			name: "empty environment variable is unset",
			env:  env{"GATEHOUSE_LISTEN": "", "GATEHOUSE_LOG_LEVEL": ""},
			args: []string{"--config", file},
			want: Config{Listen: "127.0.0.1:1111", LogLevel: "warn", AutoMigrate: true, OutboxInterval: time.Hour},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustLoad(t, tt.env, tt.args...)
			if got.Listen != tt.want.Listen || got.LogLevel != tt.want.LogLevel ||
				got.AutoMigrate != tt.want.AutoMigrate || got.OutboxInterval != tt.want.OutboxInterval {
				t.Errorf("got listen=%q log-level=%q auto-migrate=%v outbox-interval=%v, want %q %q %v %v",
					got.Listen, got.LogLevel, got.AutoMigrate, got.OutboxInterval,
					tt.want.Listen, tt.want.LogLevel, tt.want.AutoMigrate, tt.want.OutboxInterval)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the error
	}{
		{"unknown key", "listen: 127.0.0.1:1\nbase_url: https://x.example\n",
			[]string{`unknown key "base_url"`, "line 2"}},
		{"config names another file", "config: other.yaml\n", []string{`unknown key "config"`}},
		{"duplicate key", "log-level: info\nlog-level: warn\n", []string{`"log-level"`, "line 2", "line 1"}},
		{"not a mapping", "- listen\n", []string{"want a mapping"}},
		{"bad yaml", "listen: [\n", []string{"yaml"}},
		{"list for single value", "listen: [a, b]\n", []string{"listen (", ":1)", "single value"}},
		{"bad value names key and line", "log-format: xml\n", []string{`log-format (`, `:1) "xml"`, "text or json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := MustWriteFile(t, "gatehouse.yaml", tt.content)
			_, err := MustBind(t, "--config", path).Load(nil)
			if err == nil {
				t.Fatal("Load succeeded, want error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func TestMissingConfigFile(t *testing.T) {
	_, err := MustBind(t).Load(env{"GATEHOUSE_CONFIG": "/nonexistent/gatehouse.yaml"}.lookup)
	want := `invalid GATEHOUSE_CONFIG "/nonexistent/gatehouse.yaml": no such file or directory`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestConfigFileValues(t *testing.T) {
	path := MustWriteFile(t, "gatehouse.yaml", `
# Every key is a flag name.
base-url: https://ID.example.com/
trusted-proxies: [10.0.0.0/8, "::ffff:192.0.2.1"]
smtp-url: ~
outbox-interval: 250ms
`)
	c := MustLoad(t, nil, "--config", path)
	if c.BaseURL != "https://id.example.com" {
		t.Errorf("BaseURL = %q, want https://id.example.com", c.BaseURL)
	}
	wantProxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}
	if !slices.Equal(c.TrustedProxies, wantProxies) {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, wantProxies)
	}
	if c.SMTPURL != "" || c.OutboxInterval != 250*time.Millisecond {
		t.Errorf("SMTPURL = %q, OutboxInterval = %v; want empty, 250ms", c.SMTPURL, c.OutboxInterval)
	}
	if c.ConfigFile != path {
		t.Errorf("ConfigFile = %q, want %q", c.ConfigFile, path)
	}
}

func TestEmptyConfigFile(t *testing.T) {
	c := MustLoad(t, nil, "--config", MustWriteFile(t, "empty.yaml", "# nothing yet\n"))
	if c.Listen != defaultListen {
		t.Errorf("Listen = %q, want default %q", c.Listen, defaultListen)
	}
}

func TestBindHelp(t *testing.T) {
	fs := pflag.NewFlagSet("gatehouse", pflag.ContinueOnError)
	Bind(fs)
	for _, s := range settings {
		f := fs.Lookup(s.name)
		if f == nil {
			t.Errorf("flag --%s not registered", s.name)
			continue
		}
		if !strings.Contains(f.Usage, envName(s.name)) || len(f.Usage) < 20 {
			t.Errorf("--%s help %q should explain it and name %s", s.name, f.Usage, envName(s.name))
		}
	}
	if got := fs.Lookup(keyOutboxInterval).DefValue; got != time.Second.String() {
		t.Errorf("--outbox-interval default = %s, want 1s", got)
	}
}

func TestEnvName(t *testing.T) {
	for name, want := range map[string]string{
		"base-url":        "GATEHOUSE_BASE_URL",
		"listen":          "GATEHOUSE_LISTEN",
		"outbox-interval": "GATEHOUSE_OUTBOX_INTERVAL",
	} {
		if got := envName(name); got != want {
			t.Errorf("envName(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestKEK(t *testing.T) {
	key := strings.Repeat("k", 32)
	tests := []struct {
		name    string
		value   string
		wantErr string
	}{
		{"standard base64", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=", ""},
		{"unpadded", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s", ""},
		{"too short", "a2tr", "decodes to 3 bytes, want 32"},
		{"not base64", "not base64!", "must be base64 of 32 random bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := MustBind(t).Load(env{"GATEHOUSE_KEK": tt.value}.lookup)
			if tt.wantErr == "" {
				if err != nil || string(c.KEK) != key || c.KEKFile != "" {
					t.Errorf("got KEK %q, KEKFile %q, err %v; want the key and no file", c.KEK, c.KEKFile, err)
				}
				return
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Setting != keyKEK || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want a kek error saying %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestDPoPNonceSetting(t *testing.T) {
	tests := []struct {
		name string
		env  env
		args []string
		want bool
	}{
		{name: "off by default"},
		{name: "environment", env: env{"GATEHOUSE_DPOP_NONCE": "true"}, want: true},
		{name: "flag", args: []string{"--dpop-nonce"}, want: true},
		{name: "flag over environment", env: env{"GATEHOUSE_DPOP_NONCE": "true"}, args: []string{"--dpop-nonce=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustLoad(t, tt.env, tt.args...).DPoPNonce; got != tt.want {
				t.Errorf("DPoPNonce = %v, want %v", got, tt.want)
			}
		})
	}
	_, err := MustBind(t).Load(env{"GATEHOUSE_DPOP_NONCE": "sometimes"}.lookup)
	if err == nil || !strings.Contains(err.Error(), "GATEHOUSE_DPOP_NONCE") {
		t.Errorf("a bad GATEHOUSE_DPOP_NONCE gave %v, want an error naming it", err)
	}
}
