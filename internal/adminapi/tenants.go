package adminapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func (h *Handlers) tenantRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/tenants", handle: h.listTenants},
		{method: http.MethodGet, path: "/tenants/{tenant}", handle: h.getTenant},
	}
}

// tenantView is a tenant as the API (and `gatehouse tenant list --json`) shows it.
type tenantView struct {
	ID          string         `json:"id"`
	DisplayName string         `json:"display_name"`
	CreatedAt   time.Time      `json:"created_at"`
	Issuer      string         `json:"issuer"`
	Policy      *tenant.Policy `json:"policy,omitempty"`
}

func (h *Handlers) viewTenant(t *store.Tenant) tenantView {
	return tenantView{ID: t.ID, DisplayName: t.DisplayName, CreatedAt: t.CreatedAt, Issuer: h.Issuer(t.ID)}
}

// listTenants lists the tenants the principal administers: all of them for the
// system tenant's principals, their own for anyone else.
func (h *Handlers) listTenants(w http.ResponseWriter, r *http.Request, rq *Request) error {
	ts, err := h.Tenants.List(r.Context())
	if err != nil {
		return err
	}
	out := []tenantView{}
	for i := range ts {
		if rq.Who.Administers(ts[i].ID) {
			out = append(out, h.viewTenant(&ts[i]))
		}
	}
	h.reply(w, r, http.StatusOK, map[string]any{"tenants": out})
	return nil
}

// getTenant shows a tenant with its current policy.
func (h *Handlers) getTenant(w http.ResponseWriter, r *http.Request, rq *Request) error {
	p, err := h.Tenants.Policy(r.Context(), rq.Tenant.ID)
	if err != nil {
		return err
	}
	v := h.viewTenant(rq.Tenant)
	v.Policy = &p
	h.reply(w, r, http.StatusOK, v)
	return nil
}
