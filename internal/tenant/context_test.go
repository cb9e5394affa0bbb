package tenant_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func TestResolve(t *testing.T) {
	ctx := context.Background()
	svc, db := mustService(t)
	if _, err := svc.Create(ctx, "acme", "Acme Corp", audit.System()); err != nil {
		t.Fatal(err)
	}

	var failed error
	mw := svc.Resolve(
		func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no such tenant", http.StatusNotFound) },
		func(w http.ResponseWriter, r *http.Request, err error) {
			failed = err
			http.Error(w, "internal error", http.StatusInternalServerError)
		},
	)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tn, ok := tenant.FromContext(r.Context())
		if !ok {
			t.Error("handler reached without a tenant in the context")
			http.Error(w, "no tenant", http.StatusTeapot)
			return
		}
		w.Write([]byte(tn.ID + "|" + tn.DisplayName))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /t/{tenant}/signin", mw(next))

	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/t/acme/signin", http.StatusOK, "acme|Acme Corp"},
		{"/t/nope/signin", http.StatusNotFound, "no such tenant\n"},
		{"/t/ACME/signin", http.StatusNotFound, "no such tenant\n"},
		{"/t/acme%20/signin", http.StatusNotFound, "no such tenant\n"},
		{"/t/a_b/signin", http.StatusNotFound, "no such tenant\n"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.code || rec.Body.String() != tc.body {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, rec.Code, rec.Body, tc.code, tc.body)
		}
	}
	if failed != nil {
		t.Errorf("fail called for a missing tenant: %v", failed)
	}
	// A miss is not remembered: a tenant created just after is found at once.
	if _, err := svc.Create(ctx, "nope", "Created later", audit.System()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/nope/signin", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "nope|Created later" {
		t.Errorf("tenant created after a miss: %d %q", rec.Code, rec.Body)
	}
	if _, err := svc.Create(ctx, "beta", "Beta", audit.System()); err != nil {
		t.Fatal(err)
	}

	// A store that cannot answer is an internal error, not "no such tenant" — and a
	// tenant found a moment ago is still served from memory.
	db.Close()
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/acme/signin", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("a tenant found a moment ago, with the store closed: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/beta/signin", nil))
	if rec.Code != http.StatusInternalServerError || failed == nil || errors.Is(failed, store.ErrNotFound) {
		t.Errorf("with the store closed: %d, fail(%v); want 500 through fail", rec.Code, failed)
	}
}

func TestFromContextWithoutTenant(t *testing.T) {
	if tn, ok := tenant.FromContext(context.Background()); ok || tn != nil {
		t.Errorf("FromContext(empty) = %v, %v; want nothing", tn, ok)
	}
	want := &store.Tenant{ID: "acme"}
	if tn, ok := tenant.FromContext(tenant.WithTenant(context.Background(), want)); !ok || tn != want {
		t.Errorf("FromContext(WithTenant(acme)) = %v, %v", tn, ok)
	}
}
