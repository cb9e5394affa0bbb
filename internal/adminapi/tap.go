package adminapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/recovery"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Help-desk temporary access passes and recovery holds. The operator is the
// authenticated principal: a person signed in with a passkey, or an admin client.
// A client may issue and revoke passes but never approve one: the second pair of
// eyes on a privileged account's pass must be a person's.
func (h *Handlers) tapRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/tenants/{tenant}/taps", handle: h.listTAPs},
		{method: http.MethodPost, path: "/tenants/{tenant}/taps", handle: h.issueTAP},
		{method: http.MethodPost, path: "/tenants/{tenant}/taps/{tap_id}/approve", handle: h.approveTAP},
		{method: http.MethodPost, path: "/tenants/{tenant}/taps/{tap_id}/revoke", handle: h.revokeTAP},
		{method: http.MethodPost, path: "/tenants/{tenant}/users/{user_id}/end-hold", handle: h.endHold},
	}
}

// tapView is the API form of a pass; Pass is set only in the answer to its issue.
type tapView struct {
	ID            string    `json:"id"`
	User          string    `json:"user"`
	IssuedBy      string    `json:"issued_by"`
	VerifiedBy    string    `json:"verified_by"`
	NeedsApproval bool      `json:"needs_approval"`
	ApprovedBy    string    `json:"approved_by,omitempty"`
	State         string    `json:"state"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	Pass          string    `json:"pass,omitempty"`
}

func viewTAP(p *store.TAP, now time.Time) tapView {
	return tapView{ID: p.ID, User: p.UserID, IssuedBy: p.IssuedBy, VerifiedBy: p.VerifiedBy, NeedsApproval: p.NeedsApproval,
		ApprovedBy: p.ApprovedBy, State: recovery.TAPState(p, now), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt}
}

// operator is the principal as the recovery service records it.
func operator(who *Principal) recovery.Operator {
	return recovery.Operator{ID: who.ActorID, Client: who.ActorType == audit.ActorClient}
}

// tapError maps the recovery service's refusals to API errors.
func tapError(err error) error {
	var ie *recovery.InvalidError
	var nf *recovery.NotFoundError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, recovery.ErrVerifiedBy):
		return badRequest("verified_by is required: %s", err.Error())
	case errors.As(err, &ie):
		return badRequest("%s", ie.Msg)
	case errors.As(err, &nf):
		return notFound("%s", nf.Msg)
	case errors.Is(err, recovery.ErrSameOperator), errors.Is(err, recovery.ErrOwnPass),
		errors.Is(err, recovery.ErrApprovalNeedsPerson), errors.Is(err, recovery.ErrNotOperator),
		errors.Is(err, recovery.ErrOperatorOnHold), errors.Is(err, recovery.ErrOwnHold):
		return denied("%s", err.Error())
	case errors.Is(err, recovery.ErrAlreadyApproved), errors.Is(err, recovery.ErrNoApprovalNeeded),
		errors.Is(err, recovery.ErrTAPNotLive), errors.Is(err, recovery.ErrUserNotActive), errors.Is(err, recovery.ErrNoHold):
		return conflict("%s", err.Error())
	}
	return err
}

func (h *Handlers) listTAPs(w http.ResponseWriter, r *http.Request, rq *Request) error {
	live, err := boolParam(r, "live")
	if err != nil {
		return err
	}
	ps, err := h.Recovery.ListTAPs(r.Context(), rq.Tenant.ID, live)
	if err != nil {
		return err
	}
	now := h.Now()
	out := make([]tapView, 0, len(ps))
	for i := range ps {
		out = append(out, viewTAP(&ps[i], now))
	}
	h.reply(w, r, http.StatusOK, map[string]any{"taps": out})
	return nil
}

// tapInput is the body of an issue request.
type tapInput struct {
	User       string `json:"user"`
	VerifiedBy string `json:"verified_by"`
	// TTL is a duration such as "30m"; empty means the default.
	TTL string `json:"ttl"`
}

func (h *Handlers) issueTAP(w http.ResponseWriter, r *http.Request, rq *Request) error {
	var in tapInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.User == "" {
		return badRequest("user is required: an id or email address")
	}
	var ttl time.Duration
	if in.TTL != "" {
		d, err := time.ParseDuration(in.TTL)
		if err != nil {
			return badRequest("ttl must be a duration such as \"30m\"")
		}
		ttl = d
	}
	res, err := h.Recovery.Issue(r.Context(), recovery.IssueTAP{TenantID: rq.Tenant.ID, User: in.User, VerifiedBy: in.VerifiedBy,
		TTL: ttl, Operator: operator(rq.Who)}, rq.Who.Meta(r))
	if err != nil {
		return tapError(err)
	}
	out := viewTAP(res.TAP, h.Now())
	out.Pass = res.Pass
	w.Header().Set("Location", Prefix+"/tenants/"+rq.Tenant.ID+"/taps/"+res.TAP.ID)
	h.reply(w, r, http.StatusCreated, out)
	return nil
}

func (h *Handlers) approveTAP(w http.ResponseWriter, r *http.Request, rq *Request) error {
	p, err := h.Recovery.Approve(r.Context(), rq.Tenant.ID, r.PathValue("tap_id"), operator(rq.Who), rq.Who.Meta(r))
	if err != nil {
		return tapError(err)
	}
	h.reply(w, r, http.StatusOK, viewTAP(p, h.Now()))
	return nil
}

func (h *Handlers) revokeTAP(w http.ResponseWriter, r *http.Request, rq *Request) error {
	if err := tapError(h.Recovery.Revoke(r.Context(), rq.Tenant.ID, r.PathValue("tap_id"), operator(rq.Who), rq.Who.Meta(r))); err != nil {
		return err
	}
	h.reply(w, r, http.StatusOK, map[string]string{"status": "revoked"})
	return nil
}

func (h *Handlers) endHold(w http.ResponseWriter, r *http.Request, rq *Request) error {
	m := rq.Who.Meta(r)
	if m.ActorType == audit.ActorUser {
		m.ActorType = audit.ActorOperator
	}
	u, err := h.Recovery.EndHold(r.Context(), rq.Tenant.ID, r.PathValue("user_id"), m)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no user %q in tenant %s", r.PathValue("user_id"), rq.Tenant.ID)
	}
	if err := tapError(err); err != nil {
		return err
	}
	h.reply(w, r, http.StatusOK, map[string]any{"user": u.ID, "on_hold": false})
	return nil
}
