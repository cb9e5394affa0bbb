package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
)

// smtpServer is an in-process SMTP server that records what it accepts.
type smtpServer struct {
	addr string

	mu       sync.Mutex
	received []receivedMail
	rcpts    int
	rcptErr  *smtp.SMTPError // returned for every RCPT TO while set
	user     string          // when set, AUTH PLAIN with user/pass is required
	pass     string
}

type receivedMail struct {
	From   string
	To     []string
	Data   []byte
	TLS    bool
	Authed string
}

type smtpServerOptions struct {
	tls        *tls.Config // offered by STARTTLS, or used from the first byte if implicit
	implicit   bool
	user, pass string
}

func startSMTP(t *testing.T, opts smtpServerOptions) *smtpServer {
	t.Helper()
	srv := &smtpServer{user: opts.user, pass: opts.pass}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: srv, conn: c}, nil
	}))
	s.Domain = "mx.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.TLSConfig = opts.tls
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.implicit {
		l = tls.NewListener(l, opts.tls)
	}
	srv.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return srv
}

func (s *smtpServer) setRcptErr(e *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptErr = e
}

func (s *smtpServer) Received() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedMail(nil), s.received...)
}

func (s *smtpServer) Rcpts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcpts
}

type smtpSession struct {
	srv    *smtpServer
	conn   *smtp.Conn
	from   string
	to     []string
	authed string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication failed"}
		}
		s.authed = user
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && s.authed == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.rcpts++
	if s.srv.rcptErr != nil {
		return s.srv.rcptErr
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.received = append(s.srv.received, receivedMail{From: s.from, To: s.to, Data: b, TLS: isTLS, Authed: s.authed})
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }

// mustTLSPair returns a server config with a fresh self-signed certificate for
// 127.0.0.1 and a client config that trusts only it.
func mustTLSPair(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

// mustParseMail parses a received message and decodes its body.
func mustParseMail(t *testing.T, data []byte) (*mail.Message, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return msg, string(b)
}

func TestSMTPSenderRoundTrip(t *testing.T) {
	serverTLS, clientTLS := mustTLSPair(t)
	tests := []struct {
		name     string
		server   smtpServerOptions
		url      func(addr string) string
		wantTLS  bool
		wantAuth string
	}{
		{
			name:   "smtp without STARTTLS on offer",
			server: smtpServerOptions{},
			url:    func(addr string) string { return "smtp://" + addr },
		},
		{
			name:    "smtp upgrades when STARTTLS is offered",
			server:  smtpServerOptions{tls: serverTLS},
			url:     func(addr string) string { return "smtp://" + addr },
			wantTLS: true,
		},
		{
			name:     "smtp+starttls with authentication",
			server:   smtpServerOptions{tls: serverTLS, user: "mailer", pass: "p@ss:word"},
			url:      func(addr string) string { return "smtp+starttls://mailer:p%40ss%3Aword@" + addr },
			wantTLS:  true,
			wantAuth: "mailer",
		},
		{
			name:     "smtps with authentication",
			server:   smtpServerOptions{tls: serverTLS, implicit: true, user: "mailer", pass: "secret"},
			url:      func(addr string) string { return "smtps://mailer:secret@" + addr },
			wantTLS:  true,
			wantAuth: "mailer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, tt.server)
			sender, err := NewSMTPSender(tt.url(srv.addr), "Gatehouse <no-reply@id.example.org>")
			if err != nil {
				t.Fatal(err)
			}
			sender.TLSConfig = clientTLS
			e := Email{To: "alice@example.com", Subject: "Your sign-up code: 314159", Text: "Hello Alice,\n\nyour code is 314159.\n"}
			if err := sender.Send(context.Background(), "0123abcd", "default", e); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			r := got[0]
			if len(r.To) != 1 || r.To[0] != "alice@example.com" || r.From != "no-reply@id.example.org" {
				t.Errorf("envelope from %q to %q", r.From, r.To)
			}
			if r.TLS != tt.wantTLS || r.Authed != tt.wantAuth {
				t.Errorf("TLS %v, authenticated as %q; want %v, %q", r.TLS, r.Authed, tt.wantTLS, tt.wantAuth)
			}
			msg, body := mustParseMail(t, r.Data)
			if got := msg.Header.Get("Subject"); got != e.Subject {
				t.Errorf("Subject = %q, want %q", got, e.Subject)
			}
			if got := msg.Header.Get("Message-Id"); got != "<0123abcd@id.example.org>" {
				t.Errorf("Message-ID = %q, want <0123abcd@id.example.org>", got)
			}
			if got := msg.Header.Get("To"); got != "<alice@example.com>" && got != "alice@example.com" {
				t.Errorf("To = %q", got)
			}
			if _, err := msg.Header.Date(); err != nil {
				t.Errorf("Date header: %v", err)
			}
			if got := strings.ReplaceAll(body, "\r\n", "\n"); got != e.Text {
				t.Errorf("body = %q, want %q", got, e.Text)
			}
		})
	}
}

func TestSMTPSenderRefusesPlaintextWhenTLSIsRequired(t *testing.T) {
	srv := startSMTP(t, smtpServerOptions{}) // offers no STARTTLS
	sender, err := NewSMTPSender("smtp+starttls://"+srv.addr, "no-reply@id.example.org")
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(context.Background(), "m1", "default", welcome)
	if err == nil {
		t.Fatal("Send over a server without STARTTLS succeeded with smtp+starttls://")
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		t.Errorf("missing STARTTLS is a configuration problem, not a permanent failure: %v", err)
	}
	if n := srv.Rcpts(); n != 0 {
		t.Errorf("server saw %d recipients in plaintext", n)
	}
}

func TestSMTPSenderWrongPasswordIsRetried(t *testing.T) {
	serverTLS, clientTLS := mustTLSPair(t)
	srv := startSMTP(t, smtpServerOptions{tls: serverTLS, user: "mailer", pass: "right"})
	sender, err := NewSMTPSender("smtp+starttls://mailer:wrong@"+srv.addr, "no-reply@id.example.org")
	if err != nil {
		t.Fatal(err)
	}
	sender.TLSConfig = clientTLS
	err = sender.Send(context.Background(), "m1", "default", welcome)
	var perm *PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("Send with a wrong password = %v; want a retryable error (the operator fixes the config)", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error repeats the password: %v", err)
	}
}

func TestNewSMTPSender(t *testing.T) {
	tests := []struct {
		url      string
		wantPort int
		wantErr  bool
	}{
		{"smtp://mail.example.org", 25, false},
		{"smtp+starttls://mail.example.org", 587, false},
		{"smtps://mail.example.org", 465, false},
		{"smtps://u:p@mail.example.org:2465", 2465, false},
		{"smtp://[::1]:2525", 2525, false},
		{"http://mail.example.org", 0, true},
		{"smtp://", 0, true},
		{"smtp://mail.example.org:0", 0, true},
		{"smtp://mail.example.org:99999", 0, true},
		{"smtp://mail.example.org/inbox", 0, true},
		{"smtp://mail.example.org?insecure_skip_verify=1", 0, true},
		{"smtp://:hunter2@mail.example.org", 0, true},
	}
	for _, tt := range tests {
		s, err := NewSMTPSender(tt.url, "no-reply@example.org")
		if (err != nil) != tt.wantErr {
			t.Errorf("NewSMTPSender(%q) error = %v, want error %v", tt.url, err, tt.wantErr)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("NewSMTPSender(%q) error repeats the password: %v", tt.url, err)
			}
			continue
		}
		if s.port != tt.wantPort {
			t.Errorf("NewSMTPSender(%q) port = %d, want %d", tt.url, s.port, tt.wantPort)
		}
	}
	if _, err := NewSMTPSender("smtp://mail.example.org", "not an address"); err == nil {
		t.Error("NewSMTPSender accepted a sender that is not an address")
	}
}

// smtpWorker wires a Worker to an SMTPSender for srv, recording message ids.
func smtpWorker(t *testing.T, srvAddr string, clk *clock) (*Worker, *recordingSender, *logBuffer) {
	t.Helper()
	sender, err := NewSMTPSender("smtp://"+srvAddr, "no-reply@id.example.org")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingSender{next: sender}
	logger, logs := newTestLogger()
	s := MustOpenStore(t)
	return &Worker{Store: s, Owner: "node-a", Now: clk.Now, Logger: logger, Jitter: func() float64 { return 0.5 },
		Senders: map[string]Sender{KindEmail: rec}}, rec, logs
}

func TestWorkerRetriesTemporarySMTPFailure(t *testing.T) {
	ctx := context.Background()
	srv := startSMTP(t, smtpServerOptions{})
	srv.setRcptErr(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "<alice@example.com> mailbox busy, try later"})
	clk := newClock()
	w, rec, logs := smtpWorker(t, srv.addr, clk)
	MustQueue(t, w.Store, "signup-code:1", welcome, t0)

	if n, err := w.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("first RunOnce = %d, %v; want 0 delivered", n, err)
	}
	id := rec.IDs()[0]
	m := mustGetOutbox(t, w.Store, id)
	if m.Dead || m.Attempts != 1 || !m.DeliveredAt.IsZero() {
		t.Fatalf("after 451: dead %v, attempts %d, delivered %v; want a pending retry", m.Dead, m.Attempts, m.DeliveredAt)
	}
	if want := t0.Add(15 * time.Second); !m.AvailableAt.Equal(want) {
		t.Errorf("retry at %v, want %v", m.AvailableAt, want)
	}
	if !strings.Contains(m.LastError, "451") || strings.Contains(m.LastError, "alice@example.com") {
		t.Errorf("last error %q: want the 451 reply without the full address", m.LastError)
	}
	for _, secret := range []string{"alice@example.com", welcome.Text} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{`"msg_id":"` + id + `"`, `"tenant":"default"`, `"kind":"email"`, `"attempt":1`, `"to":"a***@example.com"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}

	// Not due yet: nothing is tried.
	if n, err := w.RunOnce(ctx); err != nil || n != 0 || srv.Rcpts() != 1 {
		t.Fatalf("RunOnce before the retry time = %d, %v, %d RCPTs; want no new attempt", n, err, srv.Rcpts())
	}

	srv.setRcptErr(nil)
	clk.Advance(time.Minute)
	if n, err := w.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce after the retry time = %d, %v; want 1 delivered", n, err)
	}
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	msg, _ := mustParseMail(t, got[0].Data)
	if want := "<" + id + "@id.example.org>"; msg.Header.Get("Message-Id") != want {
		t.Errorf("Message-ID = %q, want %q (stable across retries)", msg.Header.Get("Message-Id"), want)
	}
	if m := mustGetOutbox(t, w.Store, id); m.DeliveredAt.IsZero() || m.Attempts != 2 {
		t.Errorf("after delivery: delivered at %v, attempts %d", m.DeliveredAt, m.Attempts)
	}
}

func TestWorkerGivesUpOnPermanentSMTPRejection(t *testing.T) {
	ctx := context.Background()
	srv := startSMTP(t, smtpServerOptions{})
	srv.setRcptErr(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<alice@example.com>: no such user"})
	clk := newClock()
	w, rec, logs := smtpWorker(t, srv.addr, clk)
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg, w.Store)
	if err != nil {
		t.Fatal(err)
	}
	w.Metrics = metrics
	MustQueue(t, w.Store, "signup-code:1", welcome, t0)

	if n, err := w.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("RunOnce = %d, %v; want 0 delivered", n, err)
	}
	m := mustGetOutbox(t, w.Store, rec.IDs()[0])
	if !m.Dead || m.Attempts != 1 || !strings.Contains(m.LastError, "550") {
		t.Fatalf("after 550: dead %v, attempts %d, last error %q; want given up at once", m.Dead, m.Attempts, m.LastError)
	}
	if strings.Contains(m.LastError, "alice@example.com") || strings.Contains(logs.String(), "alice@example.com") {
		t.Errorf("the full address was stored or logged:\n%s\n%s", m.LastError, logs)
	}

	clk.Advance(24 * time.Hour)
	if n, err := w.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("later RunOnce = %d, %v", n, err)
	}
	if n := srv.Rcpts(); n != 1 {
		t.Errorf("server saw %d delivery attempts, want 1", n)
	}
	if n := mustDepth(t, w.Store); n != 0 {
		t.Errorf("outbox depth = %d; a dead message is not waiting", n)
	}
	if got := metricValue(t, reg, "gatehouse_outbox_dead_total", KindEmail); got != 1 {
		t.Errorf("dead_total = %v, want 1", got)
	}
}
