package device

import (
	"net/netip"

	"github.com/gatehouse-id/gatehouse/internal/geoip"
	"github.com/gatehouse-id/gatehouse/internal/network"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Proximity modes (tenant policy device.proximity, client override).
const (
	ProximityOff     = "off"
	ProximityWarn    = "warn"
	ProximityRequire = "require"
)

// Place is what a GeoIP database says about an address: ASN and organisation,
// approximate location, country code.
type Place = geoip.Place

// Locator looks addresses up in a GeoIP database (*geoip.DB with --geoip-db).
type Locator interface {
	Locate(ip netip.Addr) (Place, bool)
}

// Proximity compares where a device asked from with where its approver is.
type Proximity struct {
	// Near is true when both are on one network (same /24 or /56), or in the same
	// autonomous system when a GeoIP database knows both.
	Near        bool
	SameNetwork bool
	SameASN     bool
	// Approver's side, for the page and the audit log.
	ApproverIP       string
	ApproverNetwork  string
	ApproverLocation string
	ApproverASN      uint32
	ApproverOrg      string
	ApproverCountry  string
}

// Mode returns the proximity mode for the client: its override, else the tenant's.
func Mode(c *store.Client, p tenant.Policy) string {
	if c != nil && c.DeviceProximity != "" {
		return c.DeviceProximity
	}
	if p.Device.Proximity == "" {
		return ProximityRequire
	}
	return p.Device.Proximity
}

// Compare says how near the approver at ip is to the device of request d.
func (s *Service) Compare(d *store.DeviceRequest, ip netip.Addr) Proximity {
	var pr Proximity
	if ip.IsValid() {
		pr.ApproverIP, pr.ApproverNetwork = ip.String(), network.Of(ip).String()
	}
	if req, err := netip.ParseAddr(d.IP); err == nil {
		pr.SameNetwork = network.Same(req, ip)
	}
	if pl, ok := s.locate(ip); ok {
		pr.ApproverLocation, pr.ApproverASN, pr.ApproverOrg, pr.ApproverCountry = pl.Location, pl.ASN, pl.Org, pl.Country
		// Same ASN counts only when both sides are known: an unknown ASN (0) never
		// matches, so a missing database entry cannot open the door.
		pr.SameASN = pl.ASN != 0 && pl.ASN == d.ASN
	}
	pr.Near = pr.SameNetwork || pr.SameASN
	return pr
}
