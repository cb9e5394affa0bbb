package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/user"
	"github.com/gatehouse-id/gatehouse/internal/useragent"
)

// repudiation is what a "This wasn't me" link carries.
type repudiation struct {
	// Since is when the recovery began: credentials it added were made after it.
	Since     time.Time `json:"since"`
	SessionID string    `json:"session_id"`
	Flow      string    `json:"flow"`
}

// Complete finishes a recovery when its restricted session has enrolled a passkey.
// The passkey service calls it (as passkey.Service.OnRestrictedEnroll) inside the
// transaction that stores the credential and sets the hold, so all of this commits
// with the enrollment or not at all (DESIGN.md §4 invariants 4 and 5):
//
//   - every other session of the user, and every token family, is revoked;
//   - recovery.completed is audited;
//   - every verified address is told what happened, when and from where, with a
//     single-use "This wasn't me" link valid until the hold ends plus seven days;
//   - the session stops being restricted and becomes a provisional one.
func (s *Service) Complete(ctx context.Context, tx store.Tx, sess *store.Session, u *store.User, cred *store.Credential, c passkey.Client) error {
	now := store.Micro(s.Now())
	flow := sess.Flow
	m := userMeta(c, u.ID, sess.ID, flow)
	revoked, err := session.RevokeAll(ctx, tx, now, u.TenantID, u.ID, sess.ID, reasonRecovered, m)
	if err != nil {
		return err
	}
	holdEnd := u.HoldUntil
	if holdEnd.Before(now) {
		holdEnd = now
	}
	since, err := repudiationSince(ctx, tx, sess, u, cred, now)
	if err != nil {
		return err
	}
	token := secret.Token(32)
	data, err := json.Marshal(repudiation{Since: since, SessionID: sess.ID, Flow: flow})
	if err != nil {
		return err
	}
	if err := tx.PutArtifact(ctx, &store.Artifact{Hash: secret.Hash(token), Kind: kindRepudiate, TenantID: u.TenantID,
		Subject: u.ID, Data: data, CreatedAt: now, ExpiresAt: holdEnd.Add(RepudiationGrace)}); err != nil {
		return err
	}
	notified, err := s.noticeRecovered(ctx, tx, u, cred, c, now, holdEnd, token)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, now, m, audit.Entry{
		Type: audit.RecoveryCompleted, TenantID: u.TenantID, TargetType: "user", TargetID: u.ID, Severity: audit.High,
		Details: map[string]any{"flow": flow, "credential": cred.ID, "sessions_revoked": revoked,
			"hold_until": holdEnd, "notified": notified},
	}); err != nil {
		return err
	}
	sess.Restricted = false
	sess.Flow = session.FlowNormal
	if now.Before(u.HoldUntil) {
		sess.Flow = session.FlowProvisional
	}
	sess.AMR = []string{session.AMRHardwareKey, session.AMRUser}
	if cred.BackupEligible {
		sess.AMR = []string{session.AMRSoftwareKey, session.AMRUser}
	}
	// Never phishing-resistant: the person proved an inbox or a pass, then made a key.
	sess.ACR, sess.AuthTime = session.ACRMultiFactor, now
	return tx.UpdateSessionAuth(ctx, sess)
}

// repudiationSince is where the "This wasn't me" link of this recovery starts
// removing provisional credentials: when its session began, or earlier when a
// previous recovery's passkey is still within its hold. Whoever recovers an account
// twice must not keep the first passkey because the owner pressed the newest link.
func repudiationSince(ctx context.Context, tx store.Tx, sess *store.Session, u *store.User, cred *store.Credential, now time.Time) (time.Time, error) {
	since := sess.CreatedAt
	p, err := policyOf(ctx, tx, u.TenantID)
	if err != nil {
		return since, err
	}
	creds, err := tx.ListCredentials(ctx, u.TenantID, u.ID)
	if err != nil {
		return since, err
	}
	window := now.Add(-p.Recovery.Hold.D())
	for _, c := range creds {
		if c.ID != cred.ID && c.Provisional && c.CreatedAt.After(window) && c.CreatedAt.Before(since) {
			since = c.CreatedAt
		}
	}
	return since, nil
}

// noticeRecovered queues the recovery notice to every verified address of u.
func (s *Service) noticeRecovered(ctx context.Context, tx store.Tx, u *store.User, cred *store.Credential, c passkey.Client, now, holdEnd time.Time, token string) (int, error) {
	t, err := tx.GetTenant(ctx, u.TenantID)
	if err != nil {
		return 0, err
	}
	link := s.BaseURL + "/t/" + url.PathEscape(u.TenantID) + "/recover/not-me?token=" + url.QueryEscape(token)
	ids, err := tx.ListIdentifiers(ctx, u.TenantID, u.ID)
	if err != nil {
		return 0, err
	}
	var to []string
	for _, id := range ids {
		if id.Kind == store.IdentEmail && id.Verified && !slices.Contains(to, id.Value) {
			to = append(to, id.Value)
		}
	}
	for _, addr := range to {
		e := recoveredMail(addr, t.DisplayName, cred.Name, now, holdEnd, where(c), link)
		if err := notify.QueueEmail(ctx, tx, u.TenantID, "recovery-completed:"+cred.ID+":"+addr, e, now); err != nil {
			return 0, err
		}
	}
	return len(to), nil
}

// where says where a request came from in a notice: address, network and browser.
func where(c passkey.Client) string {
	w := c.IP
	if w == "" {
		w = "an unknown address"
	}
	if c.Network != "" && c.Network != c.IP {
		w += " (network " + c.Network + ")"
	}
	if c.UserAgent != "" {
		// Our words, not the requester's header: see package useragent.
		w += ", using " + useragent.Describe(c.UserAgent)
	}
	return w
}

// ErrNoHold means the account is not on hold.
var ErrNoHold = errors.New("the account is not on hold")

// ErrOwnHold means an operator tried to end the hold on their own account: the hold
// exists because whoever holds that account now may not be its owner.
var ErrOwnHold = errors.New("nobody may end the hold on their own account: another operator must confirm the recovery was yours")

// EndHold ends a user's recovery hold early, for an operator who has confirmed with
// the person that the recovery was theirs. Credentials added during the hold then
// count as full ones.
func (s *Service) EndHold(ctx context.Context, tenantID, userID string, m audit.Meta) (*store.User, error) {
	if (m.ActorType == audit.ActorOperator || m.ActorType == audit.ActorUser) && m.ActorID == userID {
		return nil, ErrOwnHold
	}
	var u *store.User
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if u, err = tx.GetUser(ctx, tenantID, userID); err != nil {
			return err
		}
		now := store.Micro(s.Now())
		if !OnHold(u, now) {
			return ErrNoHold
		}
		was := u.HoldUntil
		u.HoldUntil, u.UpdatedAt = time.Time{}, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, now, m, audit.Entry{
			Type: audit.RecoveryHoldEnded, TenantID: tenantID, TargetType: "user", TargetID: userID, Severity: audit.Medium,
			Details: map[string]any{"was_until": was, "early": true},
		}); err != nil {
			return err
		}
		_, err = user.NotifyVerifiedEmails(ctx, tx, tenantID, userID, user.Notice{
			Key: "hold-ended:" + secret.ID(), Subject: "The hold on your account was lifted",
			What: fmt.Sprintf("Your account's recovery hold was ended early by an administrator (it would have lasted until %s). "+
				"Passkeys added during the recovery now work like any other.", FormatTime(was)),
			At: now, ByAdministrator: true,
		})
		return err
	})
	return u, err
}
