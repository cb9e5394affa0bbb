package passkey

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Artifact kinds of ceremony state; a challenge issued for one purpose can never
// finish another.
const (
	kindLogin    = "webauthn:login"
	kindRegister = "webauthn:register"
	kindStepUp   = "webauthn:stepup"
)

// ceremony is the server-side state of one WebAuthn ceremony.
type ceremony struct {
	Session webauthn.SessionData `json:"session"`
	// UserID is the account being registered to or stepped up; for a sign-up it is the
	// id the new account will get.
	UserID string `json:"user_id,omitempty"`
	// SignUp carries what a new account starts with.
	SignUp *SignUp `json:"signup,omitempty"`
	// SessionID binds the ceremony to the browser session that began it.
	SessionID string `json:"session_id,omitempty"`
	// Binding is the hash of a browser-held secret for ceremonies begun without a
	// session (sign-up), so only the browser that began one can finish it.
	Binding string `json:"binding,omitempty"`
	// Name is the passkey name the user chose.
	Name string `json:"name,omitempty"`
}

// SignUp describes the account a registration ceremony creates.
type SignUp struct {
	DisplayName string `json:"display_name"`
	// Email is the account's first address.
	Email string `json:"email,omitempty"`
	// EmailUnverified marks an address that was typed but not proven by code (the
	// operator setup link); by default a sign-up's address was verified first.
	EmailUnverified bool `json:"email_unverified,omitempty"`
	// Roles of the new account (the first operator).
	Roles []string `json:"roles,omitempty"`
}

// challengeKey is the artifact hash of a ceremony: the hash of its challenge, which
// the browser echoes back inside clientDataJSON.
func challengeKey(challenge string) string { return secret.Hash(challenge) }

func (s *Service) saveCeremony(ctx context.Context, tx store.Tx, kind, tenantID string, c *ceremony) error {
	// The challenge itself is not stored: the row is found by its hash, and the
	// finishing request supplies it again.
	stored := *c
	stored.Session.Challenge = ""
	data, err := json.Marshal(&stored)
	if err != nil {
		return err
	}
	now := store.Micro(s.Now())
	return tx.PutArtifact(ctx, &store.Artifact{
		Hash: challengeKey(c.Session.Challenge), Kind: kind, TenantID: tenantID, Subject: c.UserID,
		Data: data, CreatedAt: now, ExpiresAt: now.Add(CeremonyTTL),
	})
}

// peekCeremony loads a live, unused ceremony without consuming it.
func (s *Service) peekCeremony(ctx context.Context, tx store.Tx, kind, tenantID, challenge string) (*ceremony, error) {
	a, err := tx.PeekArtifact(ctx, kind, challengeKey(challenge))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errChallenge
	}
	if err != nil {
		return nil, err
	}
	if a.TenantID != tenantID || !a.RedeemedAt.IsZero() || !s.Now().Before(a.ExpiresAt) {
		return nil, errChallenge
	}
	var c ceremony
	if err := json.Unmarshal(a.Data, &c); err != nil {
		return nil, err
	}
	c.Session.Challenge = challenge
	return &c, nil
}

// redeemCeremony consumes the ceremony; of two concurrent finishers only one succeeds.
func (s *Service) redeemCeremony(ctx context.Context, tx store.Tx, kind, challenge string) error {
	_, err := tx.RedeemArtifact(ctx, kind, challengeKey(challenge), s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return errChallenge
	}
	return err
}

// waUser adapts a Gatehouse user to go-webauthn. The user handle is the user id:
// random, stable, and free of personal data.
type waUser struct {
	id, name, display string
	creds             []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return []byte(u.id) }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.display }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

var b64 = base64.RawURLEncoding

// toWebAuthn converts stored passkeys to the library's form.
func toWebAuthn(cs []store.Credential) []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(cs))
	for _, c := range cs {
		if c.Kind != store.CredPasskey {
			continue
		}
		id, err1 := b64.DecodeString(c.CredentialID)
		pk, err2 := b64.DecodeString(c.PublicKey)
		aaguid, err3 := hex.DecodeString(c.AAGUID)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		var tr []protocol.AuthenticatorTransport
		for _, t := range c.Transports {
			tr = append(tr, protocol.AuthenticatorTransport(t))
		}
		out = append(out, webauthn.Credential{
			ID: id, PublicKey: pk, AttestationType: c.AttestationType, Transport: tr,
			Flags: webauthn.CredentialFlags{
				UserPresent: true, UserVerified: c.UserVerified, BackupEligible: c.BackupEligible, BackupState: c.BackedUp,
			},
			Authenticator: webauthn.Authenticator{AAGUID: aaguid, SignCount: c.SignCount},
		})
	}
	return out
}

// fromWebAuthn makes the stored form of a newly registered credential.
func fromWebAuthn(wc *webauthn.Credential, tenantID, userID, name, ip string, now time.Time) *store.Credential {
	var tr []string
	for _, t := range wc.Transport {
		tr = append(tr, string(t))
	}
	return &store.Credential{
		ID: secret.ID(), TenantID: tenantID, UserID: userID, Kind: store.CredPasskey,
		CredentialID: b64.EncodeToString(wc.ID), PublicKey: b64.EncodeToString(wc.PublicKey),
		SignCount: wc.Authenticator.SignCount, AAGUID: hex.EncodeToString(wc.Authenticator.AAGUID), Transports: tr,
		BackupEligible: wc.Flags.BackupEligible, BackedUp: wc.Flags.BackupState, UserVerified: wc.Flags.UserVerified,
		AttestationType: wc.AttestationType, Name: name, CreatedAt: now, CreatedIP: ip,
	}
}
