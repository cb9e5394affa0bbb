package oauth

import (
	"context"
	"log/slog"
)

// EngineLogFilter wraps h so that it drops the OAuth engine's own routine records.
// zitadel/oidc logs through slog's default logger: a line for every route it
// registers, and one for every error answer it writes — at info level for each
// authorization_pending a polling device gets, several a second per waiting device.
// The access log already records every request with its status, and Gatehouse logs
// its own server errors with the request id, so only the engine's error-level
// records are kept.
func EngineLogFilter(h slog.Handler) slog.Handler { return engineLogFilter{h} }

type engineLogFilter struct{ next slog.Handler }

func (f engineLogFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return f.next.Enabled(ctx, l)
}

func (f engineLogFilter) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Message == "registered route":
		return nil
	case r.Message == "request error" && r.Level < slog.LevelError:
		return nil
	}
	return f.next.Handle(ctx, r)
}

func (f engineLogFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return engineLogFilter{f.next.WithAttrs(as)}
}

func (f engineLogFilter) WithGroup(name string) slog.Handler {
	return engineLogFilter{f.next.WithGroup(name)}
}
