package app

import (
	"context"
	"net/url"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// ArtifactOperatorSetup is the artifact kind of the one-time operator setup link.
const ArtifactOperatorSetup = "operator_setup"

// SetupLinkTTL is how long an operator setup link works.
const SetupLinkTTL = time.Hour

// SetupLink returns a fresh single-use link that registers the first operator's
// passkey, or "" when the system tenant already has an operator. The link's token is
// stored only as a hash.
func (a *App) SetupLink(ctx context.Context) (string, error) {
	token := secret.Token(32)
	issued := false
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		ops, err := tx.ListUsers(ctx, tenant.System, store.UserQuery{Role: user.RoleOperator, Status: store.UserActive, Limit: 1})
		if err != nil || len(ops) > 0 {
			return err
		}
		now := store.Micro(a.Now())
		if err := tx.PutArtifact(ctx, &store.Artifact{
			Hash: secret.Hash(token), Kind: ArtifactOperatorSetup, TenantID: tenant.System,
			Subject: "first-operator", CreatedAt: now, ExpiresAt: now.Add(SetupLinkTTL),
		}); err != nil {
			return err
		}
		issued = true
		return audit.Record(ctx, tx, now, audit.System(), audit.Entry{
			Type: audit.OperatorSetupLink, TenantID: tenant.System, TargetType: "tenant", TargetID: tenant.System,
			Details: map[string]string{"expires": now.Add(SetupLinkTTL).Format(time.RFC3339)},
		})
	})
	if err != nil || !issued {
		return "", err
	}
	return a.Config.BaseURL + "/t/" + tenant.System + "/setup?token=" + url.QueryEscape(token), nil
}
