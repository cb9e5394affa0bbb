package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func fixedIP(s string) func(*http.Request) netip.Addr {
	return func(*http.Request) netip.Addr { return netip.MustParseAddr(s) }
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func mustPutMail(t *testing.T, s store.Store, m store.Mail) {
	t.Helper()
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.PutMail(ctx, &m) }); err != nil {
		t.Fatal(err)
	}
}

func TestMailboxPage(t *testing.T) {
	s := MustOpenStore(t)
	mustPutMail(t, s, store.Mail{ID: "older", TenantID: "default", To: "bob@example.com", Subject: "Older message", Body: "old", CreatedAt: t0})
	mustPutMail(t, s, store.Mail{ID: "newer", TenantID: "default", To: "alice@example.com", Subject: "Your sign-up code", Body: "Your code is 314159.", CreatedAt: t0.Add(time.Minute)})

	for _, ip := range []string{"127.0.0.1", "::1", "::ffff:127.0.0.1"} {
		rec := serve(MailboxHandler(s, fixedIP(ip)), "GET", "/dev/mailbox")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /dev/mailbox from %s = %d, want 200", ip, rec.Code)
		}
		body := rec.Body.String()
		if !strings.Contains(body, "Your sign-up code") || !strings.Contains(body, "Your code is 314159.") || !strings.Contains(body, "alice@example.com") {
			t.Fatalf("page lacks the message:\n%s", body)
		}
		if strings.Index(body, "Your sign-up code") > strings.Index(body, "Older message") {
			t.Error("the newest message is not shown first")
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q; codes must not be cached", cc)
		}
		// A strict CSP forbids inline script and style.
		for _, bad := range []string{"<script", "style=", "<style"} {
			if strings.Contains(body, bad) {
				t.Errorf("page contains %q, which a strict CSP blocks", bad)
			}
		}
	}
}

func TestMailboxJSON(t *testing.T) {
	s := MustOpenStore(t)
	mustPutMail(t, s, store.Mail{ID: "older", TenantID: "default", To: "bob@example.com", Subject: "Older", Body: "old", CreatedAt: t0})
	mustPutMail(t, s, store.Mail{ID: "newer", TenantID: "acme", To: "alice@example.com", Subject: "Newer", Body: "new\ntext", CreatedAt: t0.Add(time.Minute)})

	rec := serve(MailboxHandler(s, fixedIP("127.0.0.1")), "GET", "/dev/mailbox.json")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /dev/mailbox.json = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var got []struct {
		ID, Tenant, To, Subject, Text string
		CreatedAt                     time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body is not a JSON array: %v\n%s", err, rec.Body)
	}
	if len(got) != 2 || got[0].ID != "newer" || got[1].ID != "older" {
		t.Fatalf("messages = %+v, want newer then older", got)
	}
	g := got[0]
	if g.Tenant != "acme" || g.To != "alice@example.com" || g.Subject != "Newer" || g.Text != "new\ntext" || !g.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("newest message = %+v", g)
	}

	empty := MustOpenStore(t)
	rec = serve(MailboxHandler(empty, fixedIP("127.0.0.1")), "GET", "/dev/mailbox.json")
	if body := strings.TrimSpace(rec.Body.String()); body != "[]" {
		t.Errorf("empty mailbox JSON = %s, want []", body)
	}
}

func TestMailboxHiddenFromOtherClients(t *testing.T) {
	s := MustOpenStore(t)
	mustPutMail(t, s, store.Mail{ID: "m", TenantID: "default", To: "alice@example.com", Subject: "Your sign-up code", Body: "314159", CreatedAt: t0})
	handlers := map[string]http.Handler{
		"remote address":       MailboxHandler(s, fixedIP("203.0.113.9")),
		"private address":      MailboxHandler(s, fixedIP("10.0.0.2")),
		"unknown address":      MailboxHandler(s, func(*http.Request) netip.Addr { return netip.Addr{} }),
		"peer address default": MailboxHandler(s, nil), // httptest requests come from 192.0.2.1
	}
	for name, h := range handlers {
		for _, path := range []string{"/dev/mailbox", "/dev/mailbox.json"} {
			rec := serve(h, "GET", path)
			if rec.Code != http.StatusNotFound || strings.TrimSpace(rec.Body.String()) != "We could not find that page." {
				t.Errorf("%s: GET %s = %d %q, want 404", name, path, rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "314159") {
				t.Errorf("%s: the code leaked", name)
			}
		}
	}
}

func TestMailboxEscapesHTML(t *testing.T) {
	s := MustOpenStore(t)
	mustPutMail(t, s, store.Mail{ID: "m", TenantID: "default", To: "alice@example.com",
		Subject: `<script>alert("subject")</script>`, Body: `</pre><img src=x onerror=alert(1)>`, CreatedAt: t0})
	rec := serve(MailboxHandler(s, fixedIP("127.0.0.1")), "GET", "/dev/mailbox")
	body := rec.Body.String()
	if strings.Contains(body, "<script>") || strings.Contains(body, "<img") {
		t.Fatalf("page contains unescaped markup:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("page does not show the escaped subject:\n%s", body)
	}
}
