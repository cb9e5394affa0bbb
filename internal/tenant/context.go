package tenant

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type ctxKey struct{}

// FromContext returns the tenant that Resolve put in the request context.
func FromContext(ctx context.Context) (*store.Tenant, bool) {
	t, ok := ctx.Value(ctxKey{}).(*store.Tenant)
	return t, ok
}

// WithTenant returns ctx carrying t.
func WithTenant(ctx context.Context, t *store.Tenant) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// Resolve wraps a handler mounted under "/t/{tenant}/…": it loads the tenant named in
// the path into the request context, answering with notFound when the name is not a
// valid tenant id or no such tenant exists, and with fail on a store error.
func (s *Service) Resolve(notFound http.HandlerFunc, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("tenant")
			if !ValidID(id) {
				notFound(w, r)
				return
			}
			t, err := s.lookup(r.Context(), id)
			if errors.Is(err, store.ErrNotFound) {
				notFound(w, r)
				return
			}
			if err != nil {
				fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithTenant(r.Context(), t)))
		})
	}
}
