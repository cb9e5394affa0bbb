// Package device is the OAuth 2.0 device authorization grant (RFC 8628), hardened
// against device-code phishing: issuing device and user codes, the verification page
// where a person enters a user code and approves or denies, and the state a device
// polls. The token endpoint itself lives in internal/oauth, which asks this package
// whether a device code is pending, approved, denied or expired, and redeems it.
//
// The attack this package is built around: someone starts a device authorization for
// a legitimate app, sends the victim the user code with a lure, and receives the
// tokens the victim approves. So the grant is off by default, the approval page says
// where and when the request was made next to where the approver is, an approval
// needs a fresh passkey sign-in, and by default it is refused unless the approver is
// on the same network as the device (see Proximity).
package device

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/network"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// Flow is the auth_flow value of everything the device grant produces.
const Flow = "device_code"

// Alphabet is the user-code alphabet of RFC 8628 §6.1: consonants only, so no code
// spells a word, and no vowel-like characters that people confuse (0/O, 1/I).
const Alphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLen characters of a 20-letter alphabet give 20^8 ≈ 2^34.6 codes; with at
// most 5 wrong entries per session and account per code lifetime, guessing a live
// code is hopeless (RFC 8628 §5.1).
const userCodeLen = 8

// SlowDownStep is what slow_down adds to the interval (RFC 8628 §3.5).
const SlowDownStep = 5 * time.Second

// Errors a poll or a decision returns; the oauth and page layers map them to the
// RFC 8628 error codes and to sentences.
var (
	// ErrPending: the person has not decided yet (authorization_pending).
	ErrPending = errors.New("device: authorization pending")
	// ErrSlowDown: the device polled faster than its interval (slow_down).
	ErrSlowDown = errors.New("device: polling too fast")
	// ErrDenied: the person denied the request (access_denied).
	ErrDenied = errors.New("device: access denied")
	// ErrExpired: the device code expired before it was redeemed (expired_token).
	ErrExpired = errors.New("device: code expired")
	// ErrInvalid: unknown device code, another client's, or already redeemed.
	ErrInvalid = errors.New("device: device code not valid")
	// ErrGone: the request can no longer be decided (decided already or expired).
	ErrGone = errors.New("device: request no longer pending")
	// ErrStepUp: the session may not approve; a fresh passkey confirmation is needed.
	ErrStepUp = errors.New("device: a fresh passkey sign-in is needed")
	// ErrProximity: proximity is required and the approver is elsewhere.
	ErrProximity = errors.New("device: approver is not near the device")
)

// Service issues device codes, answers polls and records decisions. It keeps the
// per-node polling intervals (for slow_down) in memory; everything else is in the
// store, shared by every node.
type Service struct {
	Store store.Store
	Now   func() time.Time
	// Key keys the hash of user codes: with only 2^34.6 possible codes, an unkeyed
	// hash of them could be reversed by anyone who reads the database.
	Key []byte
	// Locator finds the ASN and approximate location of an address; nil when no
	// GeoIP database is configured.
	Locator Locator
	// Metrics counts decisions; nil counts nothing.
	Metrics *Metrics

	polls pollTracker
}

// Issued is what the device authorization endpoint returns.
type Issued struct {
	DeviceCode string
	UserCode   string // display form, XXXX-XXXX
	ExpiresIn  time.Duration
	Interval   time.Duration
}

// Requester is where a device authorization request came from.
type Requester struct {
	IP        netip.Addr
	UserAgent string
}

// Start records a new device authorization for client c with the scopes already
// checked against the client and the tenant's ceiling, and returns the codes.
func (s *Service) Start(ctx context.Context, tenantID string, c *store.Client, scopes []string, p tenant.Policy, req Requester, m audit.Meta) (*Issued, error) {
	now := store.Micro(s.Now())
	d := &store.DeviceRequest{TenantID: tenantID, ClientID: c.ID, Scope: strings.Join(scopes, " "),
		UserAgent: clipText(req.UserAgent, 512), CreatedAt: now, ExpiresAt: now.Add(p.Device.CodeLifetime.D()),
		Interval: p.Device.Interval.D(), Status: store.DevicePending}
	if req.IP.IsValid() {
		d.IP, d.Network = req.IP.String(), network.Of(req.IP).String()
		if pl, ok := s.locate(req.IP); ok {
			d.ASN, d.ASNOrg, d.Location, d.Country = pl.ASN, pl.Org, pl.Location, pl.Country
		}
	}
	// A user-code collision with another request of the tenant is possible (one in
	// 2^34 per live code); drawing again a few times makes it vanish.
	for range 5 {
		deviceCode, userCode := secret.Token(32), newUserCode()
		d.DeviceHash, d.UserHash = secret.Hash(deviceCode), s.userHash(tenantID, userCode)
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateDeviceRequest(ctx, d); err != nil {
				return err
			}
			return audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.DeviceRequested, TenantID: tenantID,
				TargetType: "client", TargetID: c.ID, Details: map[string]any{"client_id": c.ID, "scope": d.Scope,
					"expires_at": d.ExpiresAt, "ip": d.IP, "network": d.Network, "asn": d.ASN, "asn_org": d.ASNOrg,
					"country": d.Country, "location": d.Location}})
		})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Issued{DeviceCode: deviceCode, UserCode: Display(userCode), ExpiresIn: d.ExpiresAt.Sub(now),
			Interval: d.Interval}, nil
	}
	return nil, errors.New("device: could not draw a unique user code")
}

// Poll answers a device's token request for deviceCode: nil with the approved
// request (still to be redeemed by the caller), or one of ErrPending, ErrSlowDown,
// ErrDenied, ErrExpired, ErrInvalid. A pending poll is one indexed read and no write.
func (s *Service) Poll(ctx context.Context, tenantID, clientID, deviceCode string) (*store.DeviceRequest, error) {
	if deviceCode == "" || len(deviceCode) > 256 {
		return nil, ErrInvalid
	}
	hash := secret.Hash(deviceCode)
	var d *store.DeviceRequest
	err := s.Store.View(ctx, func(tx store.Tx) error {
		var err error
		d, err = tx.GetDeviceRequest(ctx, tenantID, hash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, err
	}
	if d.ClientID != clientID {
		return nil, ErrInvalid
	}
	now := s.Now()
	if (d.Status == store.DevicePending || d.Status == store.DeviceApproved) && !now.Before(d.ExpiresAt) {
		if err := s.expire(ctx, d, now); err != nil {
			return nil, err
		}
		s.polls.forget(hash)
		return nil, ErrExpired
	}
	switch d.Status {
	case store.DevicePending:
		if s.polls.tooFast(hash, now, d.Interval, d.ExpiresAt) {
			return nil, ErrSlowDown
		}
		return nil, ErrPending
	case store.DeviceApproved:
		s.polls.forget(hash)
		return d, nil
	case store.DeviceDenied:
		return nil, ErrDenied
	case store.DeviceExpired:
		return nil, ErrExpired
	}
	return nil, ErrInvalid
}

// expire records, once across every node, that the request's code ran out.
func (s *Service) expire(ctx context.Context, d *store.DeviceRequest, now time.Time) error {
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ExpireDeviceRequest(ctx, d.TenantID, d.DeviceHash, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, audit.System(), audit.Entry{Type: audit.DeviceExpired, TenantID: d.TenantID,
			TargetType: "client", TargetID: d.ClientID, Details: map[string]any{"client_id": d.ClientID,
				"was": d.Status, "user_id": d.UserID}})
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil // another poll recorded it first
	}
	return err
}

// RevokeGrants revokes every live token family the user obtained through the device
// grant, as a unit, with the user's approvals no device has redeemed yet (their
// devices get access_denied), and audits it; it returns how many it revoked.
func RevokeGrants(ctx context.Context, st store.Store, now time.Time, tenantID, userID, reason string, m audit.Meta) (int, error) {
	var n int
	err := st.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(ctx, tenantID, userID); err != nil {
			return err
		}
		var err error
		if n, err = tx.RevokeFlowGrants(ctx, tenantID, userID, Flow, now, reason); err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, m, audit.Entry{Type: audit.DeviceGrantsRevoked, TenantID: tenantID,
			TargetType: "user", TargetID: userID, Severity: audit.Medium,
			Details: map[string]any{"auth_flow": Flow, "count": n, "reason": reason}})
	})
	return n, err
}

// newUserCode draws userCodeLen characters from Alphabet uniformly: bytes at or
// above 240 (12×20) are thrown away so no letter is likelier than another.
func newUserCode() string {
	out := make([]byte, 0, userCodeLen)
	buf := make([]byte, 16)
	for len(out) < userCodeLen {
		rand.Read(buf) // crypto/rand.Read never fails on supported platforms
		for _, b := range buf {
			if b < 240 && len(out) < userCodeLen {
				out = append(out, Alphabet[b%20])
			}
		}
	}
	return string(out)
}

// Normalize turns what a person typed into the canonical user code: case, dashes
// and spaces do not matter. It reports false for anything that cannot be a code.
func Normalize(typed string) (string, bool) {
	if len(typed) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r < 128 && strings.IndexByte(Alphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != userCodeLen {
		return "", false
	}
	return b.String(), true
}

// Display formats a canonical user code as XXXX-XXXX.
func Display(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

func (s *Service) userHash(tenantID, code string) string {
	mac := hmac.New(sha256.New, s.Key)
	fmt.Fprintf(mac, "%s\x00%s", tenantID, code)
	return hex.EncodeToString(mac.Sum(nil))
}

func (s *Service) locate(ip netip.Addr) (Place, bool) {
	if s.Locator == nil || !ip.IsValid() {
		return Place{}, false
	}
	return s.Locator.Locate(ip)
}

// clipText makes text from a request fit to store and show: valid UTF-8 (PostgreSQL
// refuses anything else in a TEXT column, and the device chooses these bytes) and at
// most n bytes, cut between characters.
func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
