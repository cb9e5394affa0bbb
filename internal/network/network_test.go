package network

import (
	"net/netip"
	"testing"
)

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	if s == "" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return a
}

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want string
	}{
		{"ipv4 host", "203.0.113.77", "203.0.113.0/24"},
		{"ipv4 network address", "198.51.100.0", "198.51.100.0/24"},
		{"ipv4-mapped ipv6 is unmapped", "::ffff:203.0.113.77", "203.0.113.0/24"},
		{"ipv6 host", "2001:db8:aa:bbcc:1:2:3:4", "2001:db8:aa:bb00::/56"},
		{"ipv6 with zone", "fe80::1:2%eth0", "fe80::/56"},
		{"invalid address", "", "invalid Prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(mustAddr(t, tt.addr)).String()
			if got != tt.want {
				t.Errorf("Of(%q) = %s, want %s", tt.addr, got, tt.want)
			}
		})
	}
}

func TestSame(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same ipv4 /24", "203.0.113.1", "203.0.113.254", true},
		{"neighbouring ipv4 /24", "203.0.113.1", "203.0.114.1", false},
		{"mapped and plain ipv4", "::ffff:203.0.113.1", "203.0.113.9", true},
		{"same ipv6 /56", "2001:db8:0:1200::1", "2001:db8:0:12ff:ffff::1", true},
		{"different ipv6 /56", "2001:db8:0:1200::1", "2001:db8:0:1300::1", false},
		{"ipv4 and ipv6 never match", "0.0.0.1", "::1", false},
		{"unknown addresses never match", "", "", false},
		{"unknown against known", "", "203.0.113.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := mustAddr(t, tt.a), mustAddr(t, tt.b)
			if got := Same(a, b); got != tt.want {
				t.Errorf("Same(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := Same(b, a); got != tt.want {
				t.Errorf("Same(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}
