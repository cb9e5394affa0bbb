package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func (h *Handlers) clientRoutes() []route {
	const one = "/tenants/{tenant}/clients/{client_id}"
	return []route{
		{method: http.MethodGet, path: "/tenants/{tenant}/clients", handle: h.listClients},
		{method: http.MethodPost, path: "/tenants/{tenant}/clients", handle: h.createClient},
		{method: http.MethodGet, path: one, handle: h.getClient},
		{method: http.MethodPatch, path: one, handle: h.updateClient},
		{method: http.MethodDelete, path: one, handle: h.deleteClient},
		{method: http.MethodPost, path: one + "/secret", handle: h.rotateSecret},
	}
}

// clientInput is the body of a create (every field optional but client_name) or an
// update (only the fields given change; null counts as not given). Field names are
// those of client.View, so a client read from the API can be edited and sent back
// once its read-only fields are dropped.
type clientInput struct {
	Name                    *string         `json:"client_name"`
	Type                    *string         `json:"client_type"`
	AuthMethod              *string         `json:"token_endpoint_auth_method"`
	RedirectURIs            *[]string       `json:"redirect_uris"`
	PostLogoutRedirectURIs  *[]string       `json:"post_logout_redirect_uris"`
	GrantTypes              *[]string       `json:"grant_types"`
	Scopes                  *[]string       `json:"scopes"`
	FirstParty              *bool           `json:"first_party"`
	RequirePAR              *bool           `json:"require_pushed_authorization_requests"`
	DPoPBound               *bool           `json:"dpop_bound_access_tokens"`
	IDTokenAlg              *string         `json:"id_token_signed_response_alg"`
	VerificationURIComplete *bool           `json:"verification_uri_complete"`
	DeviceProximity         *string         `json:"device_proximity"`
	JWKS                    json.RawMessage `json:"jwks"`
	JWKSURI                 *string         `json:"jwks_uri"`
}

// grants accepts device_code for the device grant's URN, as the command line does.
func grants(v *[]string) *[]string {
	if v == nil {
		return nil
	}
	out := make([]string, 0, len(*v))
	for _, g := range *v {
		if g == "device_code" {
			g = client.GrantDeviceCode
		}
		out = append(out, g)
	}
	return &out
}

// jwks returns the JWK Set given, or an empty one for an explicit null (which
// removes the keys on update); nil when the field was absent.
func (in *clientInput) jwks() *[]byte {
	if in.JWKS == nil {
		return nil
	}
	b := []byte(in.JWKS)
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		b = nil
	}
	return &b
}

func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func (in *clientInput) settings() client.Settings {
	s := client.Settings{
		Name: val(in.Name), Type: val(in.Type), AuthMethod: val(in.AuthMethod), JWKSURI: val(in.JWKSURI),
		RedirectURIs: val(in.RedirectURIs), PostLogoutRedirectURIs: val(in.PostLogoutRedirectURIs),
		GrantTypes: val(grants(in.GrantTypes)), Scopes: val(in.Scopes), FirstParty: val(in.FirstParty),
		RequirePAR: val(in.RequirePAR), DPoPBound: val(in.DPoPBound), IDTokenAlg: val(in.IDTokenAlg),
		VerificationURIComplete: val(in.VerificationURIComplete), DeviceProximity: val(in.DeviceProximity),
	}
	if j := in.jwks(); j != nil {
		s.JWKS = *j
	}
	return s
}

func (in *clientInput) changes() client.Changes {
	return client.Changes{
		Name: in.Name, AuthMethod: in.AuthMethod, JWKS: in.jwks(), JWKSURI: in.JWKSURI,
		RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		GrantTypes: grants(in.GrantTypes), Scopes: in.Scopes, FirstParty: in.FirstParty, RequirePAR: in.RequirePAR,
		DPoPBound: in.DPoPBound, IDTokenAlg: in.IDTokenAlg, VerificationURIComplete: in.VerificationURIComplete,
		DeviceProximity: in.DeviceProximity,
	}
}

// maxClientID bounds the client id of a path before it reaches the store; real ones
// are far shorter.
const maxClientID = 128

// clientID returns the path's client id, or "" for one no client can have.
func clientID(r *http.Request) string {
	id := r.PathValue("client_id")
	if len(id) > maxClientID {
		return ""
	}
	return id
}

// clientOf loads the path's client, with a 404 that names it.
func (h *Handlers) clientOf(r *http.Request, rq *Request) (*store.Client, error) {
	id := clientID(r)
	c, err := h.Clients.Get(r.Context(), rq.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("no client %q in tenant %s", id, rq.Tenant.ID)
	}
	return c, err
}

func (h *Handlers) listClients(w http.ResponseWriter, r *http.Request, rq *Request) error {
	cs, err := h.Clients.List(r.Context(), rq.Tenant.ID)
	if err != nil {
		return err
	}
	out := make([]client.View, 0, len(cs))
	for i := range cs {
		out = append(out, client.NewView(&cs[i]))
	}
	h.reply(w, r, http.StatusOK, map[string]any{"clients": out})
	return nil
}

func (h *Handlers) createClient(w http.ResponseWriter, r *http.Request, rq *Request) error {
	var in clientInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := h.Clients.Create(r.Context(), rq.Tenant.ID, in.settings(), rq.Who.Meta(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/tenants/"+rq.Tenant.ID+"/clients/"+res.Client.ID)
	h.reply(w, r, http.StatusCreated, client.ResultView(res))
	return nil
}

func (h *Handlers) getClient(w http.ResponseWriter, r *http.Request, rq *Request) error {
	c, err := h.clientOf(r, rq)
	if err != nil {
		return err
	}
	h.reply(w, r, http.StatusOK, client.NewView(c))
	return nil
}

func (h *Handlers) updateClient(w http.ResponseWriter, r *http.Request, rq *Request) error {
	var in clientInput
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c, err := h.clientOf(r, rq)
	if err != nil {
		return err
	}
	if in.Type != nil && *in.Type != c.Type {
		return badRequest("client_type cannot change: delete the client and create another")
	}
	res, err := h.Clients.Update(r.Context(), rq.Tenant.ID, c.ID, in.changes(), rq.Who.Meta(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no client %q in tenant %s", c.ID, rq.Tenant.ID)
	}
	if err != nil {
		return err
	}
	h.reply(w, r, http.StatusOK, client.ResultView(res))
	return nil
}

func (h *Handlers) deleteClient(w http.ResponseWriter, r *http.Request, rq *Request) error {
	id := clientID(r)
	err := h.Clients.Delete(r.Context(), rq.Tenant.ID, id, rq.Who.Meta(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no client %q in tenant %s", id, rq.Tenant.ID)
	}
	if err != nil {
		return err
	}
	h.reply(w, r, http.StatusOK, map[string]any{"client_id": id, "tenant": rq.Tenant.ID, "deleted": true})
	return nil
}

// rotateSecret replaces the client's secret; the response is the only place the new
// one ever appears.
func (h *Handlers) rotateSecret(w http.ResponseWriter, r *http.Request, rq *Request) error {
	id := clientID(r)
	res, err := h.Clients.RotateSecret(r.Context(), rq.Tenant.ID, id, rq.Who.Meta(r))
	if errors.Is(err, store.ErrNotFound) {
		return notFound("no client %q in tenant %s", id, rq.Tenant.ID)
	}
	if err != nil {
		return err
	}
	h.reply(w, r, http.StatusOK, client.ResultView(res))
	return nil
}
