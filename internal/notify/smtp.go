package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultSMTPTimeout bounds one delivery: connecting, TLS, authentication and sending.
const DefaultSMTPTimeout = 10 * time.Second

// SMTPSender delivers email through an SMTP relay. Each Send opens its own connection,
// so one SMTPSender may be used by many goroutines.
type SMTPSender struct {
	// TLSConfig, when set, replaces the default TLS settings (system roots, TLS 1.2 or
	// newer), e.g. to trust a private CA. Its ServerName defaults to the URL's host.
	TLSConfig *tls.Config
	// Timeout bounds one delivery; zero means DefaultSMTPTimeout.
	Timeout time.Duration
	// Now stamps the Date header; nil means time.Now.
	Now func() time.Time

	host     string
	port     int
	security smtpSecurity
	username string
	password string
	from     *mail.Address
	// idDomain is the right-hand side of every Message-ID: the sender's domain.
	idDomain string
}

type smtpSecurity int

const (
	startTLSOpportunistic smtpSecurity = iota // smtp://
	startTLSMandatory                         // smtp+starttls://
	implicitTLS                               // smtps://
)

// NewSMTPSender configures delivery to the relay at rawURL, sending as from.
//
//	smtp://host[:25]           STARTTLS when the server offers it
//	smtp+starttls://host[:587] STARTTLS required
//	smtps://host[:465]         TLS from the first byte
//
// user:password in the URL (percent-encoded) turns on SMTP AUTH with PLAIN or LOGIN,
// which go-mail only performs over TLS or to localhost. from may carry a display name:
// "Gatehouse <no-reply@example.com>". Errors never repeat the password.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes its input, password included.
		return nil, errors.New("smtp url: not a valid URL")
	}
	s := &SMTPSender{host: u.Hostname()}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		s.security, s.port = startTLSOpportunistic, 25
	case "smtp+starttls":
		s.security, s.port = startTLSMandatory, 587
	case "smtps":
		s.security, s.port = implicitTLS, 465
	default:
		return nil, fmt.Errorf("smtp url %s: scheme must be smtp, smtp+starttls or smtps", u.Redacted())
	}
	if s.host == "" {
		return nil, fmt.Errorf("smtp url %s: no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("smtp url %s: bad port", u.Redacted())
		}
		s.port = port
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("smtp url %s: only scheme, credentials, host and port are allowed", u.Redacted())
	}
	if u.User != nil {
		s.username = u.User.Username()
		s.password, _ = u.User.Password()
		if s.username == "" {
			return nil, fmt.Errorf("smtp url %s: empty user name", u.Redacted())
		}
	}
	s.from, err = mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("smtp sender address %q: %v", from, err)
	}
	s.idDomain = s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	return s, nil
}

// MessageID returns the Message-ID header value (without angle brackets) that Send
// uses for msgID. It is the same on every attempt, so a message delivered twice after
// an uncertain first attempt can be recognised as one by the recipient's mail system.
func (s *SMTPSender) MessageID(msgID string) string {
	return msgID + "@" + s.idDomain
}

// Send implements Sender. A 5xx rejection of the recipient or the message is returned
// as a *PermanentError; authentication and TLS rejections are not, because they are
// fixed by correcting the configuration, after which a retry succeeds.
func (s *SMTPSender) Send(ctx context.Context, msgID string, tenantID string, e Email) error {
	if err := e.validate(); err != nil {
		return Permanent(err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(e.To); err != nil {
		return Permanent(fmt.Errorf("recipient: %w", ErrInvalidEmail))
	}
	msg.Subject(e.Subject)
	msg.SetMessageIDWithValue(s.MessageID(msgID))
	msg.SetDateWithValue(now())
	// RFC 3834: tells vacation responders not to answer a machine.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	client, err := gomail.NewClient(s.host, s.clientOptions(timeout)...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = client.DialAndSendWithContext(ctx, msg)
	// Once the server has accepted the data the message is its responsibility; a failed
	// RSET or QUIT afterwards must not cause a second copy.
	if err == nil || msg.IsDelivered() {
		return nil
	}
	return classifySMTP(err)
}

func (s *SMTPSender) clientOptions(timeout time.Duration) []gomail.Option {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		tlsConf = s.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = s.host
	}
	opts := []gomail.Option{
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConf),
		// Our own dialer: go-mail formats host:port without brackets, which breaks
		// IPv6 literals, and implicit TLS must use the same TLS settings.
		gomail.WithDialContextFunc(s.dialer(tlsConf)),
	}
	switch s.security {
	case startTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case startTLSMandatory:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case implicitTLS:
		// The connection is TLS from the start; STARTTLS would be a second layer.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.username != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.username),
			gomail.WithPassword(s.password),
		)
	}
	return opts
}

func (s *SMTPSender) dialer(tlsConf *tls.Config) gomail.DialContextFunc {
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		d := &net.Dialer{}
		if s.security == implicitTLS {
			return (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, network, addr)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// classifySMTP marks the server's final refusals as permanent.
func classifySMTP(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return err
	}
	code := se.ErrorCode()
	switch {
	case code < 500 || code > 599:
		return err
	case code == 530 || code == 534 || code == 535 || code == 538:
		// Authentication or encryption required (RFC 4954): a configuration problem.
		return err
	default:
		return Permanent(err)
	}
}
