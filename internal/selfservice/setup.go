package selfservice

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
	"github.com/gatehouse-id/gatehouse/internal/user"
)

// setupPage is the Data of the "setup" view, where the first operator names
// themselves before creating their passkey.
type setupPage struct {
	frame
	Token             string
	Name, NameError   string
	Email, EmailError string
}

// errSetupUsed means the link is unknown, used, expired, or an operator exists.
var errSetupUsed = errors.New("selfservice: setup link not usable")

func (h *Handlers) setupLinkUsed(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusGone, "message", messagePage{frame: h.frame(r, ""),
		Title: "This setup link no longer works",
		Message: "A setup link works once, for one hour. If no operator exists yet, restart Gatehouse to print a new one; " +
			"otherwise ask an operator to add you.",
		LinkText: "Operator sign-in", LinkURL: "/t/" + tenant.System + "/signin"})
}

// setupToken returns the link's token when it has the shape of one.
func setupToken(v string) string {
	if len(v) != 43 {
		return ""
	}
	return v
}

// operatorExists reports whether the system tenant has an active operator, which
// ends what a setup link is for.
func operatorExists(ctx context.Context, tx store.Tx) (bool, error) {
	ops, err := tx.ListUsers(ctx, tenant.System, store.UserQuery{Role: user.RoleOperator, Status: store.UserActive, Limit: 1})
	return len(ops) > 0, err
}

// setupPage shows the first operator's form when the link is still good.
func (h *Handlers) setupPage(w http.ResponseWriter, r *http.Request) {
	if tenantOf(r).ID != tenant.System {
		h.Renderer.NotFound(w, r)
		return
	}
	token := setupToken(r.URL.Query().Get("token"))
	usable := false
	if token != "" {
		err := h.Store.View(r.Context(), func(tx store.Tx) error {
			a, err := tx.PeekArtifact(r.Context(), h.SetupKind, secret.Hash(token))
			if isNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			usable = a.TenantID == tenant.System && a.RedeemedAt.IsZero() && h.Now().Before(a.ExpiresAt)
			if !usable {
				return nil
			}
			// The form must not promise what the submit will refuse: once an operator
			// exists (made on the command line, say), the link is spent.
			exists, err := operatorExists(r.Context(), tx)
			usable = !exists
			return err
		})
		if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if !usable {
		h.setupLinkUsed(w, r)
		return
	}
	h.render(w, r, http.StatusOK, "setup", setupPage{frame: h.frame(r, ""), Token: token})
}

// setupSubmit redeems the link (once) and starts the first operator's sign-up, whose
// passkey the next page creates.
func (h *Handlers) setupSubmit(w http.ResponseWriter, r *http.Request) {
	if tenantOf(r).ID != tenant.System {
		h.Renderer.NotFound(w, r)
		return
	}
	if !h.parseForm(w, r) {
		return
	}
	token := setupToken(r.PostForm.Get("token"))
	if token == "" {
		h.setupLinkUsed(w, r)
		return
	}
	rawName, rawEmail := r.PostForm.Get("name"), r.PostForm.Get("email")
	name, nameProblem := displayNameInput(rawName)
	if nameProblem == "" && name == "" {
		nameProblem = "Enter your name."
	}
	addr, emailProblem := emailInput(rawEmail)
	if nameProblem != "" || emailProblem != "" {
		h.render(w, r, http.StatusBadRequest, "setup", setupPage{frame: h.frame(r, ""), Token: token,
			Name: rawName, NameError: nameProblem, Email: rawEmail, EmailError: emailProblem})
		return
	}
	ctx := r.Context()
	var signUp string
	err := h.Store.InTx(ctx, func(tx store.Tx) error {
		now := h.Now()
		a, err := tx.RedeemArtifact(ctx, h.SetupKind, secret.Hash(token), now)
		if isNotFound(err) {
			return errSetupUsed
		}
		if err != nil {
			return err
		}
		if a.TenantID != tenant.System {
			return errSetupUsed
		}
		exists, err := operatorExists(ctx, tx)
		if err != nil {
			return err
		}
		if exists {
			return errSetupUsed
		}
		signUp, err = h.Passkeys.StartSignUp(ctx, tx, tenant.System, passkey.SignUp{
			DisplayName: name, Email: addr, EmailUnverified: true, Roles: []string{user.RoleOperator},
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, now, meta(r, "", ""), audit.Entry{
			Type: audit.OperatorSetupUsed, TenantID: tenant.System, TargetType: "tenant", TargetID: tenant.System,
			Details: map[string]string{"email": addr},
		})
	})
	if errors.Is(err, errSetupUsed) {
		h.setupLinkUsed(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Passkeys.SetSignUpCookie(w, signUp)
	redirect(w, r, "/t/"+tenant.System+"/signup/passkey")
}
