// Package network groups client addresses into the networks Gatehouse compares
// when it asks whether two requests came from the same place, for example the
// device that started a device-code flow and the browser that approves it.
package network

import "net/netip"

// IPv4Bits and IPv6Bits are the prefix lengths that count as one network.
// A /24 is the usual smallest routed IPv4 block, and a /56 is a common
// residential IPv6 delegation, so both cover one site without covering a whole
// provider.
const (
	IPv4Bits = 24
	IPv6Bits = 56
)

// Of returns the network that addr belongs to: its /24 for IPv4 and its /56 for
// IPv6. IPv4-mapped IPv6 addresses are treated as the IPv4 address they carry,
// because dual-stack listeners report IPv4 clients that way. Of returns the
// zero Prefix for an invalid address.
func Of(addr netip.Addr) netip.Prefix {
	// Zones name a local interface, not a network; two hosts on one link with
	// different zone names are still on the same network.
	addr = addr.Unmap().WithZone("")
	bits := IPv6Bits
	switch {
	case !addr.IsValid():
		return netip.Prefix{}
	case addr.Is4():
		bits = IPv4Bits
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// Same reports whether a and b are on the same network as defined by Of.
// An unknown (invalid) address is never on the same network as anything,
// so a missing address can never satisfy a proximity requirement.
func Same(a, b netip.Addr) bool {
	pa := Of(a)
	return pa.IsValid() && pa == Of(b)
}
