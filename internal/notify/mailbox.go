package notify

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// MailboxSender keeps email in the store's development mailbox instead of sending it,
// so that without an SMTP relay a newcomer can still read sign-up codes at /dev/mailbox.
type MailboxSender struct {
	Store store.Store
	// Now stamps the stored message; nil means time.Now.
	Now func() time.Time
}

// Send implements Sender. The mail is stored under msgID, so a retried delivery of the
// same outbox message leaves one copy.
func (m *MailboxSender) Send(ctx context.Context, msgID string, tenantID string, e Email) error {
	if err := e.validate(); err != nil {
		return Permanent(err)
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	mail := &store.Mail{ID: msgID, TenantID: tenantID, To: e.To, Subject: e.Subject, Body: e.Text, CreatedAt: now()}
	return m.Store.InTx(ctx, func(tx store.Tx) error { return tx.PutMail(ctx, mail) })
}

// mailboxLimit is how many of the newest messages the mailbox shows.
const mailboxLimit = 200

//go:embed templates/mailbox.html
var mailboxFS embed.FS

// mailboxPage is parsed once; a broken template fails at start-up, not on a request.
var mailboxPage = template.Must(template.ParseFS(mailboxFS, "templates/mailbox.html"))

// mailJSON is one message of GET /dev/mailbox.json.
type mailJSON struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// MailboxHandler serves the development mailbox, newest message first:
// GET /dev/mailbox as a page and GET /dev/mailbox.json as a JSON array.
// The mailbox holds sign-in codes, so only loopback clients (as clientIP resolves them)
// may read it; anyone else gets the same 404 as for a page that does not exist.
// A nil clientIP means the request's peer address. The page uses no script or inline
// style, so it works under a strict Content-Security-Policy.
func MailboxHandler(s store.Store, clientIP func(*http.Request) netip.Addr) http.Handler {
	if clientIP == nil {
		clientIP = peerIP
	}
	h := &mailboxHandler{store: s}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dev/mailbox", h.page)
	mux.HandleFunc("GET /dev/mailbox.json", h.json)
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip := clientIP(r); !ip.Unmap().IsLoopback() {
			notFound(w, r)
			return
		}
		// Codes in the mailbox must not linger in a browser or proxy cache.
		w.Header().Set("Cache-Control", "no-store")
		mux.ServeHTTP(w, r)
	})
}

type mailboxHandler struct {
	store store.Store
}

func (h *mailboxHandler) list(r *http.Request) ([]store.Mail, error) {
	var mails []store.Mail
	err := h.store.View(r.Context(), func(tx store.Tx) error {
		var err error
		mails, err = tx.ListMail(r.Context(), mailboxLimit)
		return err
	})
	return mails, err
}

func (h *mailboxHandler) page(w http.ResponseWriter, r *http.Request) {
	mails, err := h.list(r)
	if err != nil {
		unavailable(w)
		return
	}
	var buf bytes.Buffer
	if err := mailboxPage.Execute(&buf, struct{ Mails []store.Mail }{mails}); err != nil {
		unavailable(w)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

func (h *mailboxHandler) json(w http.ResponseWriter, r *http.Request) {
	mails, err := h.list(r)
	if err != nil {
		unavailable(w)
		return
	}
	out := make([]mailJSON, 0, len(mails))
	for _, m := range mails {
		out = append(out, mailJSON{ID: m.ID, Tenant: m.TenantID, To: m.To, Subject: m.Subject, Text: m.Body, CreatedAt: m.CreatedAt.UTC()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "We could not find that page.", http.StatusNotFound)
}

// unavailable answers a failed database read; the database's own health is reported
// by /readyz, so this development page does not log it a second time.
func unavailable(w http.ResponseWriter) {
	http.Error(w, "The mailbox could not be read. Please try again.", http.StatusServiceUnavailable)
}

func peerIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, _ := netip.ParseAddr(host)
	return addr
}
