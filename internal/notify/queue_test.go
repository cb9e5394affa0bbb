package notify

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var welcome = Email{To: "alice@example.com", Subject: "Your sign-up code", Text: "Your code is 314159."}

func TestQueueEmailCommitsWithTheCallersTransaction(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)

	boom := errors.New("the change failed")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := QueueEmail(ctx, tx, "default", "signup-code:rolled-back", welcome, t0); err != nil {
			t.Fatalf("QueueEmail: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want the caller's error", err)
	}
	if n := mustDepth(t, s); n != 0 {
		t.Fatalf("after rollback the outbox holds %d messages, want 0", n)
	}

	MustQueue(t, s, "signup-code:committed", welcome, t0)
	if n := mustDepth(t, s); n != 1 {
		t.Fatalf("after commit the outbox holds %d messages, want 1", n)
	}

	// Nothing from the rolled-back transaction reaches the mailbox either.
	w := &Worker{Store: s, Owner: "node-a", Now: newClock().Now, Senders: map[string]Sender{KindEmail: &MailboxSender{Store: s}}}
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1 delivered", n, err)
	}
	if mails := mustListMail(t, s); len(mails) != 1 {
		t.Fatalf("mailbox holds %d messages, want 1", len(mails))
	}
}

func TestQueueEmailSameKeyQueuesOnce(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	MustQueue(t, s, "signup-code:abc", welcome, t0)
	second := welcome
	second.Subject = "A second copy"
	MustQueue(t, s, "signup-code:abc", second, t0)
	if n := mustDepth(t, s); n != 1 {
		t.Fatalf("outbox holds %d messages for one key, want 1", n)
	}

	w := &Worker{Store: s, Owner: "node-a", Now: newClock().Now, Senders: map[string]Sender{KindEmail: &MailboxSender{Store: s}}}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	mails := mustListMail(t, s)
	if len(mails) != 1 || mails[0].Subject != welcome.Subject {
		t.Fatalf("mailbox = %+v, want only the first message", mails)
	}
}

func TestQueueEmailRejectsUnusableMessages(t *testing.T) {
	tests := []struct {
		name string
		e    Email
	}{
		{"empty recipient", Email{To: "", Subject: "s", Text: "t"}},
		{"not an address", Email{To: "alice", Subject: "s", Text: "t"}},
		{"display name", Email{To: "Alice <alice@example.com>", Subject: "s", Text: "t"}},
		{"angle brackets", Email{To: "<alice@example.com>", Subject: "s", Text: "t"}},
		{"two recipients", Email{To: "alice@example.com, bob@example.com", Subject: "s", Text: "t"}},
		{"header injection in recipient", Email{To: "alice@example.com\r\nBcc: eve@example.net", Subject: "s", Text: "t"}},
		{"header injection in subject", Email{To: "alice@example.com", Subject: "hi\r\nBcc: eve@example.net", Text: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := MustOpenStore(t)
			err := s.InTx(ctx, func(tx store.Tx) error {
				return QueueEmail(ctx, tx, "default", "k", tt.e, t0)
			})
			if !errors.Is(err, ErrInvalidEmail) {
				t.Fatalf("QueueEmail = %v, want ErrInvalidEmail", err)
			}
			if tt.e.To != "" && strings.Contains(err.Error(), tt.e.To) {
				t.Errorf("error %q repeats the address", err)
			}
			if n := mustDepth(t, s); n != 0 {
				t.Fatalf("outbox holds %d messages, want 0", n)
			}
		})
	}
}

func TestQueueEmailNeedsAnIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	err := s.InTx(ctx, func(tx store.Tx) error {
		return QueueEmail(ctx, tx, "default", "", welcome, t0)
	})
	if err == nil {
		t.Fatal("QueueEmail with an empty key succeeded; every keyless message would collapse into one")
	}
}

func TestMaskAddress(t *testing.T) {
	tests := map[string]string{
		"alice@example.com": "a***@example.com",
		"a@example.com":     "a***@example.com",
		"not an address":    "***",
		"@example.com":      "***",
		"alice@":            "***",
	}
	for in, want := range tests {
		if got := MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redact("550 5.1.1 <Alice@Example.com>: no such user", "alice@example.com"); got != "550 5.1.1 <a***@example.com>: no such user" {
		t.Errorf("redact = %q", got)
	}
}
