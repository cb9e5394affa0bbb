package oauth

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestEngineLogFilter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(EngineLogFilter(slog.NewTextHandler(&buf, nil))).With("node", "a")
	ctx := context.Background()
	log.InfoContext(ctx, "registered route", "endpoint", "/oauth2/token")
	log.InfoContext(ctx, "request error", "oidc_error", "authorization_pending")
	log.WarnContext(ctx, "request error", "oidc_error", "slow_down")
	log.ErrorContext(ctx, "request error", "oidc_error", "server_error")
	log.InfoContext(ctx, "outbox delivered")
	got := buf.String()
	for _, gone := range []string{"registered route", "authorization_pending", "slow_down"} {
		if strings.Contains(got, gone) {
			t.Errorf("filtered log kept %q:\n%s", gone, got)
		}
	}
	for _, kept := range []string{"server_error", "outbox delivered", "node=a"} {
		if !strings.Contains(got, kept) {
			t.Errorf("filtered log lost %q:\n%s", kept, got)
		}
	}
}
