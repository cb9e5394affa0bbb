package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// kindSignUp is a pending sign-up: an email verified by code (or a passkey-first
// sign-up) waiting for its first passkey.
const kindSignUp = "signup"

// SignUpTTL is how long a verified sign-up waits for its passkey.
const SignUpTTL = 15 * time.Minute

// StartSignUp records a pending sign-up inside tx and returns the secret that the
// browser keeps in a cookie (see SetSignUpCookie) to finish it.
func (s *Service) StartSignUp(ctx context.Context, tx store.Tx, tenantID string, su SignUp) (string, error) {
	data, err := json.Marshal(su)
	if err != nil {
		return "", err
	}
	token := secret.Token(32)
	now := store.Micro(s.Now())
	err = tx.PutArtifact(ctx, &store.Artifact{
		Hash: secret.Hash(token), Kind: kindSignUp, TenantID: tenantID, Subject: su.Email, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(SignUpTTL),
	})
	return token, err
}

// pendingSignUp returns the live sign-up the token names, or nil.
func (s *Service) pendingSignUp(ctx context.Context, tenantID, token string) (*SignUp, error) {
	if token == "" {
		return nil, nil
	}
	var su *SignUp
	err := s.Store.View(ctx, func(tx store.Tx) error {
		a, err := tx.PeekArtifact(ctx, kindSignUp, secret.Hash(token))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if a.TenantID != tenantID || !a.RedeemedAt.IsZero() || !s.Now().Before(a.ExpiresAt) {
			return nil
		}
		su = &SignUp{}
		return json.Unmarshal(a.Data, su)
	})
	return su, err
}

// SignUpCookieName is the cookie holding a pending sign-up's secret.
func (s *Service) SignUpCookieName() string {
	if s.Sessions.Secure {
		return "__Host-gh_signup"
	}
	return "gh_signup"
}

// SetSignUpCookie hands the browser the pending sign-up's secret.
func (s *Service) SetSignUpCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: s.SignUpCookieName(), Value: token, Path: "/", Secure: s.Sessions.Secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: int(SignUpTTL.Seconds()),
	})
}

// ClearSignUpCookie removes it once the account exists.
func (s *Service) ClearSignUpCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.SignUpCookieName(), Value: "", Path: "/", Secure: s.Sessions.Secure, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

func (s *Service) signUpToken(r *http.Request) string {
	c, err := r.Cookie(s.SignUpCookieName())
	if err != nil || len(c.Value) != 43 {
		return ""
	}
	return c.Value
}
