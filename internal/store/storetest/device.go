package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// testDevice checks device authorization requests: codes by hash, one decision, one
// redemption, expiry, and revoking device-flow token families as a unit.
func testDevice(t *testing.T, h Harness) {
	t.Run("Requests", func(t *testing.T) { testDeviceRequests(t, h) })
	t.Run("RedemptionRace", func(t *testing.T) { testDeviceRedemptionRace(t, h) })
	t.Run("FlowGrants", func(t *testing.T) { testFlowGrants(t, h) })
}

func newDeviceRequest(tenant, device, user string) *store.DeviceRequest {
	return &store.DeviceRequest{DeviceHash: device, UserHash: user, TenantID: tenant, ClientID: "tv",
		Scope: "openid profile", IP: "203.0.113.7", Network: "203.0.113.0/24", ASN: 64500, ASNOrg: "Example Net",
		Location: "Lisbon, Portugal", Country: "PT",
		UserAgent: "tv-app/1.0", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute), Interval: 5 * time.Second,
		Status: store.DevicePending}
}

func getDevice(t *testing.T, s store.Store, tenant, device string) (*store.DeviceRequest, error) {
	t.Helper()
	var got *store.DeviceRequest
	err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.GetDeviceRequest(t.Context(), tenant, device)
		return err
	})
	return got, err
}

func testDeviceRequests(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	mustCreateTenant(t, s, "globex")
	d := newDeviceRequest("acme", "dev-1", "user-1")
	mustTx(t, s, func(tx store.Tx) error { return tx.CreateDeviceRequest(ctx, d) })

	t.Run("round-trips by either code within the tenant", func(t *testing.T) {
		want := *d
		want.CreatedAt, want.ExpiresAt = store.Micro(d.CreatedAt), store.Micro(d.ExpiresAt)
		got, err := getDevice(t, s, "acme", "dev-1")
		if err != nil {
			t.Fatalf("GetDeviceRequest: %v", err)
		}
		wantEqual(t, "GetDeviceRequest", *got, want)
		mustView(t, s, func(tx store.Tx) error {
			got, err := tx.FindDeviceRequest(ctx, "acme", "user-1")
			if err != nil {
				return err
			}
			wantEqual(t, "FindDeviceRequest", *got, want)
			_, err = tx.FindDeviceRequest(ctx, "globex", "user-1")
			wantErr(t, "user code in another tenant", err, store.ErrNotFound)
			return nil
		})
		_, err = getDevice(t, s, "globex", "dev-1")
		wantErr(t, "device code in another tenant", err, store.ErrNotFound)
	})

	t.Run("codes are unique", func(t *testing.T) {
		wantErr(t, "same device code", txErr(t, s, func(tx store.Tx) error {
			return tx.CreateDeviceRequest(ctx, newDeviceRequest("acme", "dev-1", "user-other"))
		}), store.ErrConflict)
		wantErr(t, "same user code in the tenant", txErr(t, s, func(tx store.Tx) error {
			return tx.CreateDeviceRequest(ctx, newDeviceRequest("acme", "dev-other", "user-1"))
		}), store.ErrConflict)
		wantErr(t, "same user code in another tenant", txErr(t, s, func(tx store.Tx) error {
			return tx.CreateDeviceRequest(ctx, newDeviceRequest("globex", "dev-globex", "user-1"))
		}), nil)
	})

	approve := store.DeviceDecision{Status: store.DeviceApproved, UserID: "ann", SessionID: "sess-1", AuthTime: t0,
		ACR: "urn:gatehouse:acr:phr", AMR: []string{"swk", "user"}, At: t0.Add(time.Minute), IP: "203.0.113.9",
		Network: "203.0.113.0/24"}

	t.Run("one decision, then one redemption", func(t *testing.T) {
		_, err := redeemDevice(t, s, "acme", "dev-1", t0.Add(time.Minute))
		wantErr(t, "redeem before approval", err, store.ErrNotFound)
		mustTx(t, s, func(tx store.Tx) error { return tx.DecideDeviceRequest(ctx, "acme", "dev-1", approve) })
		deny := approve
		deny.Status = store.DeviceDenied
		wantErr(t, "second decision", txErr(t, s, func(tx store.Tx) error {
			return tx.DecideDeviceRequest(ctx, "acme", "dev-1", deny)
		}), store.ErrNotFound)
		got, err := getDevice(t, s, "acme", "dev-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.DeviceApproved || got.UserID != "ann" || got.SessionID != "sess-1" ||
			!got.DecidedAt.Equal(store.Micro(approve.At)) || got.DecidedIP != "203.0.113.9" ||
			got.DecidedNetwork != "203.0.113.0/24" || got.ACR != approve.ACR || len(got.AMR) != 2 {
			t.Errorf("after approval: %+v", got)
		}
		red, err := redeemDevice(t, s, "acme", "dev-1", t0.Add(2*time.Minute))
		if err != nil {
			t.Fatalf("RedeemDeviceRequest: %v", err)
		}
		if red.Status != store.DeviceRedeemed || !red.RedeemedAt.Equal(store.Micro(t0.Add(2*time.Minute))) || red.UserID != "ann" {
			t.Errorf("redeemed: %+v", red)
		}
		_, err = redeemDevice(t, s, "acme", "dev-1", t0.Add(3*time.Minute))
		wantErr(t, "second redemption", err, store.ErrNotFound)
	})

	t.Run("denied requests are never redeemed", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			return tx.CreateDeviceRequest(ctx, newDeviceRequest("acme", "dev-2", "user-2"))
		})
		deny := approve
		deny.Status = store.DeviceDenied
		mustTx(t, s, func(tx store.Tx) error { return tx.DecideDeviceRequest(ctx, "acme", "dev-2", deny) })
		_, err := redeemDevice(t, s, "acme", "dev-2", t0.Add(2*time.Minute))
		wantErr(t, "redeem denied", err, store.ErrNotFound)
	})

	t.Run("expiry stops decisions and redemption, and is recorded once", func(t *testing.T) {
		mustTx(t, s, func(tx store.Tx) error {
			return tx.CreateDeviceRequest(ctx, newDeviceRequest("acme", "dev-3", "user-3"))
		})
		mustTx(t, s, func(tx store.Tx) error {
			return tx.CreateDeviceRequest(ctx, newDeviceRequest("acme", "dev-4", "user-4"))
		})
		late := approve
		late.At = t0.Add(10 * time.Minute)
		wantErr(t, "decide at expiry", txErr(t, s, func(tx store.Tx) error {
			return tx.DecideDeviceRequest(ctx, "acme", "dev-3", late)
		}), store.ErrNotFound)
		mustTx(t, s, func(tx store.Tx) error { return tx.DecideDeviceRequest(ctx, "acme", "dev-4", approve) })
		_, err := redeemDevice(t, s, "acme", "dev-4", t0.Add(10*time.Minute))
		wantErr(t, "redeem at expiry", err, store.ErrNotFound)

		wantErr(t, "expire before the end", txErr(t, s, func(tx store.Tx) error {
			return tx.ExpireDeviceRequest(ctx, "acme", "dev-3", t0.Add(9*time.Minute))
		}), store.ErrNotFound)
		for _, dev := range []string{"dev-3", "dev-4"} {
			mustTx(t, s, func(tx store.Tx) error { return tx.ExpireDeviceRequest(ctx, "acme", dev, t0.Add(10*time.Minute)) })
			wantErr(t, "expire again", txErr(t, s, func(tx store.Tx) error {
				return tx.ExpireDeviceRequest(ctx, "acme", dev, t0.Add(11*time.Minute))
			}), store.ErrNotFound)
			got, err := getDevice(t, s, "acme", dev)
			if err != nil || got.Status != store.DeviceExpired {
				t.Errorf("%s after expiry: %+v, %v", dev, got, err)
			}
		}
		wantErr(t, "a redeemed request does not expire", txErr(t, s, func(tx store.Tx) error {
			return tx.ExpireDeviceRequest(ctx, "acme", "dev-1", t0.Add(11*time.Minute))
		}), store.ErrNotFound)
	})

	t.Run("expired requests are deleted", func(t *testing.T) {
		var n int
		mustTx(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.PurgeEnded(ctx, store.PurgeDeviceRequests, t0.Add(11*time.Minute), 100)
			return err
		})
		if n != 5 {
			t.Errorf("PurgeEnded(device requests) deleted %d, want 5", n)
		}
		_, err := getDevice(t, s, "acme", "dev-1")
		wantErr(t, "after delete", err, store.ErrNotFound)
	})
}

func redeemDevice(t *testing.T, s store.Store, tenant, device string, now time.Time) (*store.DeviceRequest, error) {
	t.Helper()
	var got *store.DeviceRequest
	err := s.InTx(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.RedeemDeviceRequest(t.Context(), tenant, device, now)
		return err
	})
	return got, err
}

// testDeviceRedemptionRace is invariant 3 for device codes: two nodes redeeming the
// same approved device code at the same moment produce exactly one success, so one
// approval can never yield two token families.
func testDeviceRedemptionRace(t *testing.T, h Harness) {
	a, b := h.OpenPair(t)
	ctx := t.Context()
	mustCreateTenant(t, a, "acme")
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	nodes := [2]store.Store{a, b}
	now := t0.Add(time.Minute)
	for round := range rounds {
		dev := seqName("dev-", round)
		mustTx(t, nodes[round%2], func(tx store.Tx) error {
			if err := tx.CreateDeviceRequest(ctx, newDeviceRequest("acme", dev, seqName("user-", round))); err != nil {
				return err
			}
			return tx.DecideDeviceRequest(ctx, "acme", dev, store.DeviceDecision{Status: store.DeviceApproved,
				UserID: "ann", SessionID: "s", AuthTime: t0, At: t0})
		})
		start := make(chan struct{})
		errs := make(chan error, 2)
		for _, node := range nodes {
			go func() {
				<-start
				errs <- node.InTx(ctx, func(tx store.Tx) error {
					_, err := tx.RedeemDeviceRequest(ctx, "acme", dev, now)
					return err
				})
			}()
		}
		close(start)
		wins := 0
		for range nodes {
			switch err := <-errs; {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrNotFound):
			default:
				t.Errorf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d redemptions won, want exactly 1", round, wins)
		}
	}
}

func testFlowGrants(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := t.Context()
	mustCreateTenant(t, s, "acme")
	device := func(g *store.Grant) *store.Grant { g.AuthFlow = "device_code"; return g }
	grants := []*store.Grant{
		device(newGrant("acme", "d1", "u1", "tv", "")),
		device(newGrant("acme", "d2", "u1", "console", "")),
		device(newGrant("acme", "d3", "u2", "tv", "")),
		newGrant("acme", "n1", "u1", "web", "code-n1"),
	}
	mustTx(t, s, func(tx store.Tx) error {
		for _, g := range grants {
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
		}
		return tx.RevokeGrant(ctx, "acme", "d2", t0, "earlier")
	})
	mustView(t, s, func(tx store.Tx) error {
		g, err := tx.GetGrant(ctx, "acme", "d1")
		if err != nil {
			return err
		}
		wantEqual(t, "AuthFlow round-trips", g.AuthFlow, "device_code")
		return nil
	})
	var n int
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.RevokeFlowGrants(ctx, "acme", "u1", "device_code", t0.Add(time.Hour), "operator")
		return err
	})
	if n != 1 {
		t.Errorf("RevokeFlowGrants revoked %d, want 1 (d2 was already revoked)", n)
	}
	mustView(t, s, func(tx store.Tx) error {
		for id, want := range map[string]string{"d1": "operator", "d2": "earlier", "d3": "", "n1": ""} {
			g, err := tx.GetGrant(ctx, "acme", id)
			if err != nil {
				return err
			}
			wantEqual(t, "revoke reason of "+id, g.RevokeReason, want)
		}
		return nil
	})
}
