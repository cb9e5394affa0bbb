package device

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/network"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/useragent"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

//go:embed pages/*.html
var pageFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Pages returns the verification page's views, for web.RendererOptions.Pages.
func Pages() fs.FS {
	return web.Embedded(pageFiles, "pages")
}

// Static returns the verification page's stylesheet, for web.NewAssets.
func Static() fs.FS {
	return web.Embedded(staticFiles, "static")
}

// Handlers serve the verification page /t/{tenant}/device, where a signed-in person
// types a user code, sees what asked and from where, and approves or denies.
type Handlers struct {
	Service  *Service
	Store    store.Store
	Now      func() time.Time
	Logger   *slog.Logger
	Renderer *web.Renderer
	InTenant func(http.Handler) http.Handler
	Tenants  *tenant.Service
	Sessions *session.Manager
	Clients  *client.Service
}

// Mount registers the page's routes on mux.
func (h *Handlers) Mount(mux *http.ServeMux) {
	mux.Handle("GET /t/{tenant}/device", h.InTenant(http.HandlerFunc(h.page)))
	mux.Handle("POST /t/{tenant}/device", h.InTenant(http.HandlerFunc(h.enter)))
	mux.Handle("POST /t/{tenant}/device/decide", h.InTenant(http.HandlerFunc(h.decide)))
}

// entryView is the Data of the "device" view.
type entryView struct {
	TenantName, Base string
	UserCode         string
	Error            string
	Locked           string
}

// approveView is the Data of the "device-approve" view.
type approveView struct {
	TenantName, Base, ClientName, UserCode string
	Scopes                                 []string
	Ago, RequestedAt                       string
	RequesterIP, RequesterNetwork          string
	RequesterLocation, RequesterAgent      string
	ApproverIP, ApproverNetwork            string
	ApproverLocation                       string
	// RequesterAS and ApproverAS name each side's autonomous system ("AS64500 Example
	// Net") when a GeoIP database knows it.
	RequesterAS, ApproverAS string
	// RequestedFrom and YouAreAt are each side in one line, to compare at a glance.
	RequestedFrom, YouAreAt string
	// Mismatch: the approver is not near the device and the mode is not off; Refuse:
	// and the mode is require, so only Deny is offered. SameASOnly: near only because
	// both are with the same provider, which can be a whole country's broadband.
	Mismatch, Refuse, SameASOnly bool
}

// messageView is the Data of the "device-message" view.
type messageView struct {
	TenantName, Title, Message, LinkText, LinkURL string
}

// stepUpView is the Data of selfservice's "stepup" view, which confirms with a passkey
// and then posts the decision form again; its field names are that view's.
type stepUpView struct {
	TenantName, Base, API, What, Action, AccountURL string
	Fields                                          []stepUpField
	HasPasskey                                      bool
}

type stepUpField struct{ Name, Value string }

// pageCtx is what every handler starts from: tenant, policy, and the signed-in session.
type pageCtx struct {
	t *store.Tenant
	p tenant.Policy
	s *store.Session
}

// begin finds the tenant's policy and the session, sending the browser to sign in
// (and back to the page with the code it carried) when there is none, and refusing a
// restricted recovery session. It reports false when it has answered.
func (h *Handlers) begin(w http.ResponseWriter, r *http.Request, code string) (pageCtx, bool) {
	t, _ := tenant.FromContext(r.Context())
	p, err := h.Tenants.Policy(r.Context(), t.ID)
	if err != nil {
		h.fail(w, r, err)
		return pageCtx{}, false
	}
	if !p.Flows.DeviceCode {
		h.message(w, r, http.StatusNotFound, "Device sign-in is off",
			"This sign-in service does not let devices sign in with a code. If a code brought you here, someone may be trying to trick you: do not enter it anywhere.", "", "")
		return pageCtx{}, false
	}
	s, err := h.Sessions.Lookup(r.Context(), r, t.ID)
	if errors.Is(err, session.ErrNoSession) {
		back := "/t/" + t.ID + "/device"
		if c, ok := Normalize(code); ok {
			back += "?user_code=" + Display(c)
		}
		http.Redirect(w, r, "/t/"+t.ID+"/signin?"+url.Values{"next": {back}}.Encode(), http.StatusSeeOther)
		return pageCtx{}, false
	}
	if err != nil {
		h.fail(w, r, err)
		return pageCtx{}, false
	}
	if s.Restricted {
		// A recovery session that has yet to create its passkey can do exactly one
		// thing: create it. It sees no request and its typing is neither counted nor
		// audited, since an attacker holding one must learn nothing from this page.
		h.message(w, r, http.StatusForbidden, "Finish recovering your account first",
			"This session can only create a new passkey for your account. Create it, and then you can use the rest of your account.",
			"Create your new passkey", "/t/"+t.ID+"/recover/passkey")
		return pageCtx{}, false
	}
	return pageCtx{t: t, p: p, s: s}, true
}

// page shows the code form. A code in the query (verification_uri_complete) only
// fills the field, and only when it belongs to a client allowed that link: anyone can
// write a link to this page with a code in it, and a link that fills in the code of a
// client not allowed one is the phishing message verification_uri_complete is off to
// prevent. Looking the code up is an entry like a typed one, counted when wrong.
func (h *Handlers) page(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	pc, ok := h.begin(w, r, code)
	if !ok {
		return
	}
	v := entryView{TenantName: pc.t.DisplayName, Base: "/t/" + pc.t.ID}
	if h.refuseLocked(w, r, pc, v) {
		return
	}
	c, ok := Normalize(code)
	if !ok {
		h.render(w, r, http.StatusOK, "device", v)
		return
	}
	d, locked, err := h.Service.Guess(r.Context(), h.typist(r, pc), pc.p, h.meta(r, pc.s), c)
	switch {
	case err != nil && !errors.Is(err, ErrInvalid):
		h.fail(w, r, err)
		return
	case locked:
		v.Locked = lockedMessage(pc.p.Device.CodeLifetime.D())
		h.render(w, r, http.StatusTooManyRequests, "device", v)
		return
	case err != nil:
		v.UserCode, v.Error = Display(c), "That code is not right. Check the code on your device and try again."
		h.render(w, r, http.StatusBadRequest, "device", v)
		return
	}
	cl, err := h.Clients.Get(r.Context(), pc.t.ID, d.ClientID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	if err == nil && cl.VerificationURIComplete {
		v.UserCode = Display(c)
	}
	h.render(w, r, http.StatusOK, "device", v)
}

// refuseLocked answers with the entry page saying how long to wait when this person
// may not enter codes for now, and reports whether it answered.
func (h *Handlers) refuseLocked(w http.ResponseWriter, r *http.Request, pc pageCtx, v entryView) bool {
	wait, locked, err := h.Service.Locked(r.Context(), h.typist(r, pc), pc.p)
	if err != nil {
		h.fail(w, r, err)
		return true
	}
	if !locked {
		return false
	}
	v.Locked = lockedMessage(wait)
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
	h.render(w, r, http.StatusTooManyRequests, "device", v)
	return true
}

// beginPost reads a posted form, then begins with the code it carries.
func (h *Handlers) beginPost(w http.ResponseWriter, r *http.Request) (pageCtx, bool) {
	if err := web.ParseForm(w, r); err != nil {
		h.fail(w, r, err)
		return pageCtx{}, false
	}
	return h.begin(w, r, r.PostForm.Get("user_code"))
}

// enter takes a typed code and shows what it would approve.
func (h *Handlers) enter(w http.ResponseWriter, r *http.Request) {
	pc, ok := h.beginPost(w, r)
	if !ok {
		return
	}
	d, c, ok := h.lookup(w, r, pc)
	if !ok {
		return
	}
	if err := h.Service.EntryOK(r.Context(), d, pc.s.UserID, h.meta(r, pc.s)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.showApproval(w, r, pc, d, c)
}

// lookup finds the pending request of the typed code, counting a wrong code against
// the entry limits. It reports false when it has answered.
func (h *Handlers) lookup(w http.ResponseWriter, r *http.Request, pc pageCtx) (*store.DeviceRequest, *store.Client, bool) {
	ctx := r.Context()
	typed := r.PostForm.Get("user_code")
	v := entryView{TenantName: pc.t.DisplayName, Base: "/t/" + pc.t.ID, UserCode: clipText(typed, 32)}
	if h.refuseLocked(w, r, pc, v) {
		return nil, nil, false
	}
	if _, ok := Normalize(typed); !ok {
		// Not a possible code: nothing was guessed, so nothing is counted.
		v.Error = "That is not a code from a device. Codes are 8 letters, like BCDF-GHJK."
		h.render(w, r, http.StatusBadRequest, "device", v)
		return nil, nil, false
	}
	d, locked, err := h.Service.Guess(ctx, h.typist(r, pc), pc.p, h.meta(r, pc.s), typed)
	if err != nil && !errors.Is(err, ErrInvalid) {
		h.fail(w, r, err)
		return nil, nil, false
	}
	if locked {
		// Either this wrong code used up a limit, or another request of this person
		// did while this one was on its way: either way nothing is shown.
		if !errors.Is(err, ErrInvalid) && h.refuseLocked(w, r, pc, v) {
			return nil, nil, false
		}
		v.Locked = lockedMessage(pc.p.Device.CodeLifetime.D())
		h.render(w, r, http.StatusTooManyRequests, "device", v)
		return nil, nil, false
	}
	if err != nil {
		v.Error = "That code is not right. Check the code on your device and try again."
		h.render(w, r, http.StatusBadRequest, "device", v)
		return nil, nil, false
	}
	if d.Status != store.DevicePending || !h.Now().Before(d.ExpiresAt) {
		h.message(w, r, http.StatusGone, "This code can no longer be used",
			"It has expired, or someone already approved or denied it. If you are setting up a device in front of you, start again on the device to get a new code.", "", "")
		return nil, nil, false
	}
	c, err := h.Clients.Get(ctx, pc.t.ID, d.ClientID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !client.AllowsGrant(c, client.GrantDeviceCode)) {
		h.message(w, r, http.StatusGone, "This code can no longer be used",
			"The app that asked for it may no longer sign in devices.", "", "")
		return nil, nil, false
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, nil, false
	}
	return d, c, true
}

func (h *Handlers) showApproval(w http.ResponseWriter, r *http.Request, pc pageCtx, d *store.DeviceRequest, c *store.Client) {
	code, _ := Normalize(r.PostForm.Get("user_code"))
	pr := h.Service.Compare(d, web.ClientIP(r.Context()))
	mode := Mode(c, pc.p)
	v := approveView{TenantName: pc.t.DisplayName, Base: "/t/" + pc.t.ID, ClientName: c.Name, UserCode: Display(code),
		Scopes: client.DescribeScopes(strings.Fields(d.Scope), "Stay signed in on the device when you are not using it"), Ago: ago(h.Now().Sub(d.CreatedAt)),
		RequestedAt: d.CreatedAt.UTC().Format("15:04 UTC, 2 Jan 2006"), RequesterIP: d.IP, RequesterNetwork: d.Network,
		RequesterLocation: d.Location, RequesterAgent: useragent.Describe(d.UserAgent), ApproverIP: pr.ApproverIP,
		ApproverNetwork: pr.ApproverNetwork, ApproverLocation: pr.ApproverLocation,
		RequesterAS: asName(d.ASN, d.ASNOrg), ApproverAS: asName(pr.ApproverASN, pr.ApproverOrg),
		Mismatch: !pr.Near && mode != ProximityOff, Refuse: !pr.Near && mode == ProximityRequire,
		SameASOnly: pr.SameASN && !pr.SameNetwork}
	v.RequestedFrom = placeLine(v.RequesterIP, v.RequesterNetwork, v.RequesterLocation, v.RequesterAS)
	v.YouAreAt = placeLine(v.ApproverIP, v.ApproverNetwork, v.ApproverLocation, v.ApproverAS)
	if v.ClientName == "" {
		v.ClientName = c.ID
	}
	h.render(w, r, http.StatusOK, "device-approve", v)
}

// decide records Approve or Deny for the code in the form.
func (h *Handlers) decide(w http.ResponseWriter, r *http.Request) {
	pc, ok := h.beginPost(w, r)
	if !ok {
		return
	}
	decision := r.PostForm.Get("decision")
	if decision != "approve" && decision != "deny" {
		h.fail(w, r, &web.Error{Status: http.StatusBadRequest, Message: "Choose Approve or Deny."})
		return
	}
	d, c, ok := h.lookup(w, r, pc)
	if !ok {
		return
	}
	ctx := r.Context()
	a := Approver{Session: pc.s, IP: web.ClientIP(ctx), Meta: h.meta(r, pc.s)}
	if decision == "deny" {
		if err := h.Service.Deny(ctx, d, a); err != nil {
			h.decisionFailed(w, r, pc, err)
			return
		}
		h.message(w, r, http.StatusOK, "Request denied",
			"The device will not be signed in. If you did not start this yourself, someone may have tried to trick you into giving them access; nothing was shared.", "", "")
		return
	}
	if _, err := h.Service.Approve(ctx, d, c, pc.p, a); err != nil {
		h.decisionFailed(w, r, pc, err)
		return
	}
	h.message(w, r, http.StatusOK, "Device approved",
		"You can go back to your device now; it will finish signing in by itself.", "", "")
}

// decisionFailed answers a decision that did not go through.
func (h *Handlers) decisionFailed(w http.ResponseWriter, r *http.Request, pc pageCtx, err error) {
	switch {
	case errors.Is(err, ErrStepUp):
		h.stepUp(w, r, pc)
	case errors.Is(err, ErrProximity):
		h.message(w, r, http.StatusForbidden, "Approval refused",
			"This request came from a different network than the one you are on, and this sign-in service only lets you approve a device from its own network. If someone sent you this code, they are trying to get into your account: do not try again.", "", "")
	case errors.Is(err, ErrGone):
		h.message(w, r, http.StatusGone, "This code can no longer be used",
			"It has expired, or it was already approved or denied. Start again on your device to get a new code.", "", "")
	case errors.Is(err, ErrAccount):
		h.message(w, r, http.StatusForbidden, "Approval refused", "Your account cannot approve devices right now.", "", "")
	default:
		h.fail(w, r, err)
	}
}

// stepUp asks for a passkey confirmation and then posts the approval again, or says
// why this session cannot get there.
func (h *Handlers) stepUp(w http.ResponseWriter, r *http.Request, pc pageCtx) {
	base := "/t/" + pc.t.ID
	if pc.s.Restricted || pc.s.Flow == session.FlowRecovery {
		h.message(w, r, http.StatusForbidden, "Finish your account recovery first",
			"A session from an account recovery cannot approve devices. Finish adding your new passkey; once your account's waiting period is over, sign in with it and enter the code again.", "Go to your account", base+"/account")
		return
	}
	usable := 0
	err := h.Store.View(r.Context(), func(tx store.Tx) error {
		creds, err := tx.ListCredentials(r.Context(), pc.t.ID, pc.s.UserID)
		for _, c := range creds {
			if c.Kind == store.CredPasskey && !c.Provisional {
				usable++
			}
		}
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if usable == 0 {
		h.message(w, r, http.StatusForbidden, "Sign in with a passkey to approve",
			"Approving a device needs a passkey, because a code sent to you by someone else must never be enough. Add a passkey to your account (passkeys added during a recovery waiting period count only once it is over), then enter the code again.", "Go to your account", base+"/account")
		return
	}
	h.render(w, r, http.StatusForbidden, "stepup", stepUpView{TenantName: pc.t.DisplayName, Base: base,
		API: base + "/api/passkey", What: "approve this device", Action: base + "/device/decide",
		AccountURL: base + "/account", HasPasskey: true, Fields: []stepUpField{
			{"decision", "approve"}, {"user_code", clipText(r.PostForm.Get("user_code"), 32)}}})
}

func (h *Handlers) typist(r *http.Request, pc pageCtx) Typist {
	return Typist{TenantID: pc.t.ID, SessionID: pc.s.ID, UserID: pc.s.UserID, IP: web.ClientIP(r.Context())}
}

func (h *Handlers) meta(r *http.Request, s *store.Session) audit.Meta {
	m := audit.Meta{ActorType: audit.ActorUser, ActorID: s.UserID, UserAgent: r.UserAgent(), SessionID: s.ID, Flow: s.Flow}
	if ip := web.ClientIP(r.Context()); ip.IsValid() {
		m.IP, m.Network = ip.String(), network.Of(ip).String()
	}
	return m
}

func (h *Handlers) message(w http.ResponseWriter, r *http.Request, status int, title, msg, linkText, linkURL string) {
	t, _ := tenant.FromContext(r.Context())
	h.render(w, r, status, "device-message", messageView{TenantName: t.DisplayName, Title: title, Message: msg,
		LinkText: linkText, LinkURL: linkURL})
}

func (h *Handlers) render(w http.ResponseWriter, r *http.Request, status int, view string, data any) {
	h.Renderer.Render(w, r, status, view, data)
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	web.Fail(w, r, h.Renderer, err)
}

func lockedMessage(wait time.Duration) string {
	mins := int((wait + time.Minute - 1) / time.Minute)
	return fmt.Sprintf("Too many wrong codes. For your safety, entering codes is locked for now. Try again in %d minute%s.",
		max(mins, 1), plural(max(mins, 1)))
}

// asName names an autonomous system as network people write it, "AS64500 Example
// Net"; "" when unknown.
func asName(asn uint32, org string) string {
	if asn == 0 {
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("AS%d %s", asn, org))
}

// placeLine puts one side in a line: "203.0.113.7 (203.0.113.0/24), Lisbon,
// Portugal, AS64500 Example Net", leaving out what is unknown.
func placeLine(ip, network, location, as string) string {
	if ip == "" {
		return "unknown"
	}
	parts := []string{ip}
	if network != "" {
		parts[0] += " (" + network + ")"
	}
	for _, s := range []string{location, as} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// ago says how long ago something happened, in words a person reads at a glance.
func ago(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute ago"
	}
	m := int(d / time.Minute)
	return fmt.Sprintf("%d minute%s ago", m, plural(m))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
