package device

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// ErrAccount means the approver's account is locked or disabled.
var ErrAccount = errors.New("device: account cannot approve")

// Approver is the signed-in person deciding on a request, and where they are.
type Approver struct {
	Session *store.Session
	IP      netip.Addr
	Meta    audit.Meta
}

// CanApprove reports whether the session may approve a device: a passkey sign-in or
// confirmation within the step-up age, not restricted by a recovery and not
// provisional (DESIGN.md invariant 1). Email-code, recovery, TAP and provisional
// sessions fail until the person confirms with a passkey enrolled outside a hold.
func CanApprove(s *store.Session, p tenant.Policy, now time.Time) bool {
	return session.PhishingResistant(s) && !s.Restricted && s.Flow != session.FlowProvisional &&
		s.Flow != session.FlowRecovery && session.Fresh(s, now, p.Sessions.StepUpAge.D())
}

// Approve lets the device of request d have its tokens, if the approver may: a session
// that CanApprove (else ErrStepUp), and, when the proximity mode requires it, on the
// device's network (else ErrProximity, audited). In warn mode a mismatch is recorded
// with the approval. ErrGone means someone decided first or the code expired.
func (s *Service) Approve(ctx context.Context, d *store.DeviceRequest, c *store.Client, p tenant.Policy, a Approver) (Proximity, error) {
	now := store.Micro(s.Now())
	pr := s.Compare(d, a.IP)
	if !CanApprove(a.Session, p, now) {
		return pr, ErrStepUp
	}
	mode := Mode(c, p)
	details := map[string]any{"client_id": d.ClientID, "scope": d.Scope, "proximity": mode, "near": pr.Near,
		"same_network": pr.SameNetwork, "same_asn": pr.SameASN, "requester_ip": d.IP,
		"requester_network": d.Network, "requester_asn": d.ASN, "requester_country": d.Country,
		"approver_network": pr.ApproverNetwork, "approver_asn": pr.ApproverASN, "approver_country": pr.ApproverCountry,
		"requested_at": d.CreatedAt}
	mismatch := func(tx store.Tx, result, severity string) error {
		return audit.Record(ctx, tx, now, a.Meta, audit.Entry{Type: audit.DeviceProximityMismatch, TenantID: d.TenantID,
			TargetType: "user", TargetID: a.Session.UserID, Result: result, Severity: severity, Details: details})
	}
	if mode == ProximityRequire && !pr.Near {
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			if err := mismatch(tx, audit.Denied, audit.High); err != nil {
				return err
			}
			return audit.Record(ctx, tx, now, a.Meta, audit.Entry{Type: audit.DeviceApprovalRefused, TenantID: d.TenantID,
				TargetType: "user", TargetID: a.Session.UserID, Result: audit.Denied, Severity: audit.High,
				Details: map[string]any{"client_id": d.ClientID, "reason": "proximity", "requester_network": d.Network,
					"requester_asn": d.ASN, "requester_country": d.Country, "approver_network": pr.ApproverNetwork,
					"approver_asn": pr.ApproverASN, "approver_country": pr.ApproverCountry}})
		})
		if err != nil {
			return pr, err
		}
		s.Metrics.decided("refused_proximity")
		return pr, ErrProximity
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := tx.GetUser(ctx, d.TenantID, a.Session.UserID)
		if err != nil {
			return err
		}
		if u.Status != store.UserActive {
			return ErrAccount
		}
		err = tx.DecideDeviceRequest(ctx, d.TenantID, d.DeviceHash, store.DeviceDecision{Status: store.DeviceApproved,
			UserID: a.Session.UserID, SessionID: a.Session.ID, AuthTime: a.Session.AuthTime, ACR: a.Session.ACR,
			AMR: a.Session.AMR, At: now, IP: pr.ApproverIP, Network: pr.ApproverNetwork})
		if errors.Is(err, store.ErrNotFound) {
			return ErrGone
		}
		if err != nil {
			return err
		}
		severity := audit.Medium
		if !pr.Near {
			// Only warn mode gets here with a mismatch; off mode does not flag it.
			severity = audit.High
			if mode == ProximityWarn {
				if err := mismatch(tx, audit.Success, audit.High); err != nil {
					return err
				}
			}
		}
		return audit.Record(ctx, tx, now, a.Meta, audit.Entry{Type: audit.DeviceApproved, TenantID: d.TenantID,
			TargetType: "user", TargetID: a.Session.UserID, Severity: severity, Details: details})
	})
	if err != nil {
		return pr, err
	}
	s.Metrics.decided("approved")
	return pr, nil
}

// Deny ends request d: its device gets access_denied on its next poll. Any signed-in
// session may deny; refusing access needs no proof beyond being the person asked.
func (s *Service) Deny(ctx context.Context, d *store.DeviceRequest, a Approver) error {
	now := store.Micro(s.Now())
	pr := s.Compare(d, a.IP)
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		err := tx.DecideDeviceRequest(ctx, d.TenantID, d.DeviceHash, store.DeviceDecision{Status: store.DeviceDenied,
			UserID: a.Session.UserID, SessionID: a.Session.ID, At: now, IP: pr.ApproverIP, Network: pr.ApproverNetwork})
		if errors.Is(err, store.ErrNotFound) {
			return ErrGone
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, a.Meta, audit.Entry{Type: audit.DeviceDenied, TenantID: d.TenantID,
			TargetType: "user", TargetID: a.Session.UserID, Severity: audit.Low,
			Details: map[string]any{"client_id": d.ClientID, "scope": d.Scope, "requester_ip": d.IP,
				"requester_network": d.Network, "requester_asn": d.ASN, "requester_country": d.Country,
				"approver_asn": pr.ApproverASN, "approver_country": pr.ApproverCountry, "near": pr.Near}})
	})
	if err != nil {
		return err
	}
	s.Metrics.decided("denied")
	return nil
}
