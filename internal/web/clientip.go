package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// IPResolver decides which address a request came from. It believes the
// X-Forwarded-For header only when the direct peer is a proxy the operator
// named as trusted, because any client can write that header.
type IPResolver struct {
	trusted []netip.Prefix
}

// NewIPResolver returns a resolver that trusts the given proxies. Each entry is
// an IP address ("10.0.0.7") or a CIDR block ("10.0.0.0/8", "fd00::/8"); blank
// entries are ignored. The error names the first entry that is neither.
// With no entries, no proxy is trusted and the peer address is always used.
func NewIPResolver(trusted []string) (*IPResolver, error) {
	res := &IPResolver{}
	for _, entry := range trusted {
		s := strings.TrimSpace(entry)
		if s == "" {
			continue
		}
		p, err := parseTrusted(s)
		if err != nil {
			return nil, fmt.Errorf("web: trusted proxy %q is not an IP address or CIDR block", entry)
		}
		res.trusted = append(res.trusted, p)
	}
	return res, nil
}

func parseTrusted(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		addr = addr.Unmap().WithZone("")
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	// Addresses are unmapped before matching, so an IPv4-mapped block must be
	// turned into the IPv4 block it describes or it could never match.
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Middleware stores the resolved client address in the request context, where
// ClientIP finds it.
func (res *IPResolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(WithClientIP(r.Context(), res.Resolve(r))))
	})
}

// Resolve returns the client address of r. It is the peer address unless the
// peer is a trusted proxy; then X-Forwarded-For is read from the right, each
// trusted hop is skipped, and the first untrusted address is the client.
// A malformed entry reached before that address means the chain cannot be
// believed, so the peer address is returned instead.
// Resolve returns the zero Addr when even the peer address is unusable.
func (res *IPResolver) Resolve(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !res.isTrusted(peer) {
		return peer
	}
	// Every proxy appends to the right, so entries left of the first
	// untrusted hop were written by the client and are never consulted.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" && len(hops) == 1 {
			// No header, or an empty one: the proxy itself is the client.
			return peer
		}
		addr, err := netip.ParseAddr(h)
		if err != nil {
			return peer
		}
		addr = addr.Unmap().WithZone("")
		if !res.isTrusted(addr) {
			return addr
		}
		client = addr
	}
	// Every hop was trusted: the request started inside the operator's own
	// network, and the leftmost hop is the closest to its origin.
	return client
}

func (res *IPResolver) isTrusted(addr netip.Addr) bool {
	if res == nil {
		return false
	}
	for _, p := range res.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// peerAddr parses a RemoteAddr, which is "ip:port" from net/http but may be a
// bare address in tests or behind some listeners.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}
