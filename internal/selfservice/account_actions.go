package selfservice

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/passkey"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Reasons recorded when sessions end from these pages.
const (
	reasonSignedOut     = "signed out"
	reasonRevokedByUser = "signed out from the account page"
)

// renamePasskey changes a passkey's name; names are not a security change, so this
// needs no confirmation.
func (h *Handlers) renamePasskey(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := h.Passkeys.Rename(r.Context(), tenantOf(r).ID, ac.s, id, r.PostForm.Get("name"), passkey.ClientOf(r))
	if e, ok := passkey.AsError(err); ok {
		h.showAccount(w, r, e.Status, "", problem{Target: "passkey:" + id, Message: e.Message})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.done(w, r, "passkey-renamed")
}

// removePasskey removes a passkey after a confirmation; the passkey service refuses
// to remove the last way to sign in.
func (h *Handlers) removePasskey(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	if !ok || !h.confirmed(w, r, ac.s, ac.st, ac.p, "remove a passkey") {
		return
	}
	id := r.PathValue("id")
	err := h.Passkeys.Remove(r.Context(), tenantOf(r).ID, ac.s, id, passkey.ClientOf(r))
	if e, ok := passkey.AsError(err); ok {
		if e.Code == passkey.CodeStepUpRequired {
			// The confirmation expired between the check above and the change.
			h.askConfirm(w, r, true, "remove a passkey")
			return
		}
		h.showAccount(w, r, e.Status, "", problem{Target: "passkey:" + id, Message: e.Message})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.done(w, r, "passkey-removed")
}

// revokeSession signs out one session. Signing out the current one is just signing
// out; any other needs a confirmation.
func (h *Handlers) revokeSession(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if id == ac.s.ID {
		h.endSession(w, r, ac.s, "")
		return
	}
	if !h.confirmed(w, r, ac.s, ac.st, ac.p, "sign out another session") {
		return
	}
	t, ctx := tenantOf(r), r.Context()
	err := h.Store.InTx(ctx, func(tx store.Tx) error {
		other, err := tx.GetSession(ctx, t.ID, id)
		if err != nil {
			return err
		}
		if other.UserID != ac.s.UserID || !session.Live(other, h.Now()) {
			return store.ErrNotFound
		}
		return session.Revoke(ctx, tx, store.Micro(h.Now()), t.ID, id, reasonRevokedByUser, meta(r, ac.s.UserID, ac.s.ID))
	})
	if errors.Is(err, store.ErrNotFound) {
		h.showAccount(w, r, http.StatusNotFound, "", problem{Message: "That session has already ended."})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.done(w, r, "session-revoked")
}

// revokeOtherSessions signs out every session of the account but this one.
func (h *Handlers) revokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	ac, ok := h.beginChange(w, r)
	if !ok || !h.confirmed(w, r, ac.s, ac.st, ac.p, "sign out everywhere else") {
		return
	}
	t, ctx := tenantOf(r), r.Context()
	err := h.Store.InTx(ctx, func(tx store.Tx) error {
		_, err := session.RevokeAll(ctx, tx, store.Micro(h.Now()), t.ID, ac.s.UserID, ac.s.ID, reasonRevokedByUser, meta(r, ac.s.UserID, ac.s.ID))
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.done(w, r, "sessions-revoked")
}

// signOut ends the browser's session and returns to the sign-in page.
func (h *Handlers) signOut(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	s, err := h.currentSession(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.endSession(w, r, s, safeNext(tenantOf(r).ID, r.PostForm.Get("next")))
}

func (h *Handlers) endSession(w http.ResponseWriter, r *http.Request, s *store.Session, next string) {
	t, ctx := tenantOf(r), r.Context()
	if s != nil {
		err := h.Store.InTx(ctx, func(tx store.Tx) error {
			return session.Revoke(ctx, tx, store.Micro(h.Now()), t.ID, s.ID, reasonSignedOut, meta(r, s.UserID, s.ID))
		})
		// A session that ended meanwhile is as signed out as it gets.
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.fail(w, r, err)
			return
		}
	}
	h.Sessions.ClearCookie(w)
	redirect(w, r, withNext("/t/"+t.ID+"/signin", next))
}
