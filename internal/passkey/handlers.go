package passkey

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/network"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/web"
)

// maxCeremonyBody bounds ceremony request bodies; real responses are a few KiB.
const maxCeremonyBody = 64 << 10

// Handlers serves the passkey JSON API under /t/{tenant}/api/passkey/.
type Handlers struct {
	Service *Service
	// InTenant wraps a handler so the tenant of the path is in its context.
	InTenant func(http.Handler) http.Handler
}

// Mount registers the API routes.
func (h *Handlers) Mount(mux *http.ServeMux) {
	for pattern, fn := range map[string]http.HandlerFunc{
		"POST /t/{tenant}/api/passkey/login/begin":             h.loginBegin,
		"POST /t/{tenant}/api/passkey/login/finish":            h.loginFinish,
		"POST /t/{tenant}/api/passkey/register/begin":          h.registerBegin,
		"POST /t/{tenant}/api/passkey/register/finish":         h.registerFinish,
		"POST /t/{tenant}/api/passkey/stepup/begin":            h.stepUpBegin,
		"POST /t/{tenant}/api/passkey/stepup/finish":           h.stepUpFinish,
		"GET /t/{tenant}/api/passkey/credentials":              h.list,
		"POST /t/{tenant}/api/passkey/credentials/{id}/name":   h.rename,
		"DELETE /t/{tenant}/api/passkey/credentials/{id}":      h.remove,
		"POST /t/{tenant}/api/passkey/credentials/{id}/delete": h.remove,
	} {
		mux.Handle(pattern, h.InTenant(fn))
	}
}

// ClientOf describes the request's origin for audit and throttling.
func ClientOf(r *http.Request) Client {
	ip := web.ClientIP(r.Context())
	c := Client{UserAgent: r.UserAgent()}
	if ip.IsValid() {
		c.IP = ip.String()
		c.Network = network.Of(ip).String()
	}
	return c
}

func tenantID(r *http.Request) string {
	t, _ := tenant.FromContext(r.Context())
	return t.ID
}

// readBody reads a bounded JSON body; an empty body is allowed where options are
// optional.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCeremonyBody))
	if err != nil {
		return nil, malformed("body too large or unreadable")
	}
	return b, nil
}

func writeError(w http.ResponseWriter, r *http.Request, err error, logFail func(error)) {
	if e, ok := AsError(err); ok {
		web.JSONError(w, e.Status, e.Code, e.Message)
		return
	}
	logFail(err)
	web.JSONError(w, http.StatusInternalServerError, "server_error", "Something went wrong on our side. Reference: "+web.RequestID(r.Context()))
}

func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, err, func(err error) {
		if h.Service.Logger != nil {
			h.Service.Logger.ErrorContext(r.Context(), "passkey api", "error", err, "request_id", web.RequestID(r.Context()))
		}
	})
}

func (h *Handlers) session(w http.ResponseWriter, r *http.Request) (*store.Session, bool) {
	s, err := h.Service.Sessions.Lookup(r.Context(), r, tenantID(r))
	if errors.Is(err, session.ErrNoSession) {
		web.JSONError(w, http.StatusUnauthorized, "login_required", "Please sign in first.")
		return nil, false
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	if s.Restricted {
		// A recovery session can do exactly one thing: register its new passkey.
		web.JSONError(w, http.StatusForbidden, CodeRecoveryOnly, "Finish recovering your account first: this session can only create a new passkey.")
		return nil, false
	}
	return s, true
}

// CodeRecoveryOnly is the JSON API's code for anything a recovery session tries
// other than registering its new passkey.
const CodeRecoveryOnly = "recovery_session"

// nextPath returns a safe same-tenant path to continue to after sign-in.
func nextPath(r *http.Request, fallback string) string {
	next := r.URL.Query().Get("next")
	prefix := "/t/" + tenantID(r) + "/"
	if strings.HasPrefix(next, prefix) && !strings.Contains(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return fallback
}

func (h *Handlers) loginBegin(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in struct {
		Conditional bool `json:"conditional"`
	}
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		h.fail(w, r, malformed("login begin body is not JSON"))
		return
	}
	opts, err := h.Service.BeginLogin(r.Context(), tenantID(r), in.Conditional, ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeRaw(w, opts)
}

func (h *Handlers) loginFinish(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Service.FinishLogin(r.Context(), tenantID(r), body, ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Service.Sessions.SetCookie(w, res.Token, res.Session)
	web.WriteJSON(w, http.StatusOK, map[string]string{
		"status": "signed_in", "redirect": nextPath(r, "/t/"+tenantID(r)+"/account"),
	})
}

func (h *Handlers) registerBegin(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
	}
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		h.fail(w, r, malformed("register begin body is not JSON"))
		return
	}
	ctx, tid := r.Context(), tenantID(r)
	req := RegisterRequest{Name: in.Name}
	s, err := h.Service.Sessions.Lookup(ctx, r, tid)
	switch {
	case err == nil:
		req.Session = s
	case !errors.Is(err, session.ErrNoSession):
		h.fail(w, r, err)
		return
	default:
		// No session: a sign-up, either after verifying an email (cookie) or
		// passkey-first with just a name.
		token := h.Service.signUpToken(r)
		su, err := h.Service.pendingSignUp(ctx, tid, token)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if su == nil {
			p, err := tenant.CurrentPolicyOf(ctx, h.Service.Store, tid)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			if !tenant.SignUpAllowed(tid, p) {
				h.fail(w, r, &Error{Status: http.StatusForbidden, Code: CodeForbidden,
					Message: "Accounts here are created by an administrator. Sign in instead.", Reason: "self sign-up not allowed"})
				return
			}
			name := strings.TrimSpace(in.DisplayName)
			if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100 {
				h.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest,
					Message: "Tell us your name (at most 100 characters) to create an account.", Reason: "passkey-first sign-up without a name"})
				return
			}
			su = &SignUp{DisplayName: name}
			err = h.Service.Store.InTx(ctx, func(tx store.Tx) error {
				var err error
				token, err = h.Service.StartSignUp(ctx, tx, tid, *su)
				return err
			})
			if err != nil {
				h.fail(w, r, err)
				return
			}
			h.Service.SetSignUpCookie(w, token)
		}
		req.SignUp, req.Binding = su, secret.Hash(token)
	}
	opts, err := h.Service.BeginRegistration(ctx, tid, req, ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeRaw(w, opts)
}

func (h *Handlers) registerFinish(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, tid := r.Context(), tenantID(r)
	var fr FinishRequest
	if s, err := h.Service.Sessions.Lookup(ctx, r, tid); err == nil {
		fr.SessionID = s.ID
	} else if !errors.Is(err, session.ErrNoSession) {
		h.fail(w, r, err)
		return
	}
	if token := h.Service.signUpToken(r); token != "" {
		fr.Binding = secret.Hash(token)
	}
	res, err := h.Service.FinishRegistration(ctx, tid, body, fr, ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if res.Token != "" {
		h.Service.ClearSignUpCookie(w)
		h.Service.Sessions.SetCookie(w, res.Token, res.Session)
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{
		"status": "registered", "credential": credentialJSON(res.Credential), "provisional": res.Provisional,
		"redirect": nextPath(r, "/t/"+tid+"/account"),
	})
}

func (h *Handlers) stepUpBegin(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	opts, err := h.Service.BeginStepUp(r.Context(), tenantID(r), s, ClientOf(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeRaw(w, opts)
}

func (h *Handlers) stepUpFinish(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.Service.FinishStepUp(r.Context(), tenantID(r), body, s, ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "confirmed", "redirect": nextPath(r, "/t/"+tenantID(r)+"/account")})
}

// CredentialJSON is the API form of a passkey.
type CredentialJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Synced     bool   `json:"synced"`
	BackedUp   bool   `json:"backed_up"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at,omitempty"`
	LastUsedIP string `json:"last_used_ip,omitempty"`
	Provisonal bool   `json:"provisional"`
}

func credentialJSON(c *store.Credential) CredentialJSON {
	out := CredentialJSON{ID: c.ID, Name: c.Name, Synced: c.BackupEligible, BackedUp: c.BackedUp,
		CreatedAt: c.CreatedAt.Format("2006-01-02T15:04:05Z07:00"), LastUsedIP: c.LastUsedIP, Provisonal: c.Provisional}
	if !c.LastUsedAt.IsZero() {
		out.LastUsedAt = c.LastUsedAt.Format("2006-01-02T15:04:05Z07:00")
	}
	return out
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	cs, err := h.Service.List(r.Context(), tenantID(r), s.UserID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]CredentialJSON, 0, len(cs))
	for i := range cs {
		out = append(out, credentialJSON(&cs[i]))
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handlers) rename(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(body, &in) != nil || strings.TrimSpace(in.Name) == "" {
		h.fail(w, r, &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "Give the passkey a name.", Reason: "rename without name"})
		return
	}
	if err := h.Service.Rename(r.Context(), tenantID(r), s, r.PathValue("id"), in.Name, ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "renamed"})
}

func (h *Handlers) remove(w http.ResponseWriter, r *http.Request) {
	s, ok := h.session(w, r)
	if !ok {
		return
	}
	if err := h.Service.Remove(r.Context(), tenantID(r), s, r.PathValue("id"), ClientOf(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]string{"status": "removed"})
}

func writeRaw(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
