// Package notify sends the messages Gatehouse queues in its transactional outbox.
//
// A capability queues a message with QueueEmail inside the transaction that makes the
// change the message is about, so both commit or neither does. A Worker later leases
// due messages, hands each to the Sender registered for its kind (SMTP, or the local
// development mailbox), and records the outcome: delivered, retried with backoff, or
// given up.
package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// KindEmail is the outbox kind of messages queued by QueueEmail.
const KindEmail = "email"

// ErrInvalidEmail means QueueEmail refused a message that could never be delivered:
// a recipient that is not a bare address, or a subject that spans lines.
var ErrInvalidEmail = errors.New("notify: invalid email")

// Email is a plain-text message to one recipient.
type Email struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// Sender delivers one outbox message. msgID is stable across retries of the same
// message, so a Sender can make a repeated delivery recognisable (or a no-op).
// A Sender must be safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, msgID string, tenantID string, e Email) error
}

// PermanentError wraps a delivery failure that no retry can fix, such as a recipient
// rejected by the mail server. The Worker gives up on the message at once.
type PermanentError struct {
	Err error
}

// Permanent marks err as not worth retrying. It returns nil for a nil err.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }

// Unwrap returns the underlying failure.
func (e *PermanentError) Unwrap() error { return e.Err }

// QueueEmail validates e and adds it to the outbox in tx, the caller's transaction, so
// the message leaves only if the change that caused it commits. idempotencyKey names
// the reason for the message (e.g. "signup-code:<artifact hash>"): queuing the same key
// again, as a retried transaction does, leaves the first message alone.
// Errors wrapping ErrInvalidEmail mean the message itself is unusable.
func QueueEmail(ctx context.Context, tx store.Tx, tenantID, idempotencyKey string, e Email, now time.Time) error {
	if tenantID == "" {
		return errors.New("notify: queue email: empty tenant")
	}
	// An empty key would make every keyless message a duplicate of the first one.
	if idempotencyKey == "" {
		return errors.New("notify: queue email: empty idempotency key")
	}
	if err := e.validate(); err != nil {
		return err
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("notify: queue email: %w", err)
	}
	id, err := newID()
	if err != nil {
		return err
	}
	m := &store.OutboxMessage{
		ID:             id,
		TenantID:       tenantID,
		Kind:           KindEmail,
		IdempotencyKey: idempotencyKey,
		Payload:        payload,
		CreatedAt:      now,
		AvailableAt:    now,
	}
	if err := tx.Enqueue(ctx, m); err != nil {
		return fmt.Errorf("notify: queue email: %w", err)
	}
	return nil
}

// validate checks what a mail server would otherwise reject after the fact.
// Its errors never contain the address: callers log them.
func (e Email) validate() error {
	addr, err := mail.ParseAddress(e.To)
	if err != nil {
		return fmt.Errorf("%w: recipient is not an email address", ErrInvalidEmail)
	}
	// Only a bare address: a display name would come from user input and end up in a header.
	if addr.Name != "" || addr.Address != e.To {
		return fmt.Errorf("%w: recipient must be a bare address, without name or brackets", ErrInvalidEmail)
	}
	if strings.ContainsAny(e.Subject, "\r\n") {
		return fmt.Errorf("%w: subject spans several lines", ErrInvalidEmail)
	}
	return nil
}

// newID returns 128 random bits in hex.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("notify: random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// MaskAddress hides the local part of an address for logs: "alice@example.com"
// becomes "a***@example.com". Anything that is not an address is masked entirely.
func MaskAddress(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "***"
	}
	first := addr[:1]
	if first == "\"" || first == "<" {
		first = ""
	}
	return first + "***" + addr[at:]
}

// redact removes every occurrence of addr from s (case-insensitively), replacing it
// with its masked form, so server replies that quote the recipient can be logged.
func redact(s, addr string) string {
	n := len(addr)
	if n == 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+n <= len(s) && strings.EqualFold(s[i:i+n], addr) {
			b.WriteString(MaskAddress(addr))
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
