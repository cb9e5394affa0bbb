package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestNewIPResolverRejectsBadEntries(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		wantErr string
	}{
		{"addresses and blocks", []string{"10.0.0.7", "192.168.0.0/16", "fd00::/8", " ", "::ffff:172.16.0.0/108"}, ""},
		{"hostname", []string{"10.0.0.1", "proxy.internal"}, `"proxy.internal"`},
		{"bad prefix length", []string{"10.0.0.0/33"}, `"10.0.0.0/33"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIPResolver(tt.trusted)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestIPResolverMiddleware(t *testing.T) {
	res, err := NewIPResolver([]string{"10.0.0.0/8", "2001:db8:ffff::1", "::ffff:172.16.0.0/108"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct client", "203.0.113.5:4711", nil, "203.0.113.5"},
		{"untrusted peer cannot spoof", "203.0.113.5:4711", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted proxy, no header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"trusted proxy forwards client", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-written entries on the left are ignored", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"trusted hops skipped from the right", "10.1.2.3:80", []string{"198.51.100.1, 10.9.9.9, 10.8.8.8"}, "198.51.100.1"},
		{"several header lines join in order", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"malformed entry falls back to peer", "10.1.2.3:80", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"empty entry falls back to peer", "10.1.2.3:80", []string{"198.51.100.1,,"}, "10.1.2.3"},
		{"entry with port is malformed", "10.1.2.3:80", []string{"198.51.100.1:5555"}, "10.1.2.3"},
		{"garbage left of the client does not matter", "10.1.2.3:80", []string{"<script>, 198.51.100.1"}, "198.51.100.1"},
		{"all hops trusted", "10.1.2.3:80", []string{"10.7.7.7, 10.8.8.8"}, "10.7.7.7"},
		{"ipv6 trusted proxy", "[2001:db8:ffff::1]:443", []string{"2001:db8:1::42"}, "2001:db8:1::42"},
		{"ipv6 untrusted peer", "[2001:db8:ffff::2]:443", []string{"2001:db8:1::42"}, "2001:db8:ffff::2"},
		{"mapped peer in mapped trusted block", "[::ffff:172.16.0.9]:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"mapped forwarded address is unmapped", "10.1.2.3:80", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"unparsable peer", "@", []string{"198.51.100.1"}, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got netip.Addr
			h := res.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = ClientIP(r.Context())
			}))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			serve(t, h, r)
			if got.String() != tt.want {
				t.Errorf("client IP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNilResolverTrustsNoProxy(t *testing.T) {
	var res *IPResolver
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := res.Resolve(r).String(); got != "10.1.2.3" {
		t.Fatalf("client IP = %s, want the peer 10.1.2.3", got)
	}
}
