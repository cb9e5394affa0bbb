package oauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/app/apptest"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

// benchParallelism is client goroutines per GOMAXPROCS: enough requests in flight
// to keep every core of the server busy while some wait on the network or the disk.
const benchParallelism = 4

// benchScope is what the client_credentials requests ask for.
const benchScope = "reports:read"

// baselinePerSecond is the bare signer's throughput measured earlier in the same
// run, so the token endpoint can report its share of it; 0 until measured.
var baselinePerSecond float64

// BenchmarkTokenEndpoint measures the token endpoint over HTTP from parallel
// clients: client_credentials, and refresh_token with rotation (every request spends
// the refresh token and gets the next one), on SQLite and PostgreSQL. It first
// measures a bare net/http handler that only signs an ES256 access token of the same
// shape, the ceiling the issue compares client_credentials with; each
// client_credentials result reports its throughput as a percentage of that baseline.
func BenchmarkTokenEndpoint(b *testing.B) {
	b.Run("baseline_es256", benchBaseline)
	// Limits are policy, not capacity: the benchmark turns the per-IP limit off.
	noLimit := apptest.WithConfig(func(c *config.Config) { c.RateLimit = 0 })
	b.Run("sqlite", func(b *testing.B) { benchTokenEndpoint(b, apptest.Start(b, noLimit)) })
	b.Run("postgres", func(b *testing.B) {
		benchTokenEndpoint(b, apptest.Start(b, noLimit, apptest.WithDatabase(apptest.FreshPostgres(b))))
	})
}

func benchTokenEndpoint(b *testing.B, s *apptest.Server) {
	issuer := s.URL + "/t/" + tenantID
	tokenURL := issuer + "/oauth2/token"
	cc, err := s.App.Clients.Create(b.Context(), tenantID, client.Settings{Name: "Bench service",
		GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{benchScope}}, audit.System())
	if err != nil {
		b.Fatal(err)
	}
	ccForm := url.Values{"grant_type": {"client_credentials"}, "scope": {benchScope}}
	b.Run("client_credentials", func(b *testing.B) {
		perSecond := runLoad(b, s.Client, func(hc *http.Client, _ *string) error {
			_, err := tokenRequest(hc, tokenURL, ccForm, cc.Client.ID, cc.Secret)
			return err
		}, nil)
		if baselinePerSecond > 0 {
			b.ReportMetric(100*perSecond/baselinePerSecond, "%-of-baseline")
		}
	})

	web, err := s.App.Clients.Create(b.Context(), tenantID, client.Settings{Name: "Bench app", FirstParty: true,
		RedirectURIs: []string{redirectURI}, GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}}, audit.System())
	if err != nil {
		b.Fatal(err)
	}
	// One token family per client goroutine, each from its own code flow; a goroutine
	// would wait for ever for a family if there were fewer.
	families := make(chan string, benchParallelism*runtime.GOMAXPROCS(0))
	person := s.NewPerson(tenantID)
	person.SignUp(b, "Bench Person")
	for range cap(families) {
		families <- firstRefreshToken(b, person, issuer, web)
	}
	b.Run("refresh_token", func(b *testing.B) {
		runLoad(b, s.Client, func(hc *http.Client, refresh *string) error {
			out, err := tokenRequest(hc, tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {*refresh}},
				web.Client.ID, web.Secret)
			if err != nil {
				return err
			}
			next, _ := out["refresh_token"].(string)
			if next == "" || next == *refresh {
				return fmt.Errorf("the refresh token did not rotate: %v", out)
			}
			*refresh = next
			return nil
		}, families)
	})
}

// firstRefreshToken runs one code flow for the signed-in person and returns the
// refresh token of the new family.
func firstRefreshToken(b *testing.B, p *apptest.Person, issuer string, c *client.Result) string {
	b.Helper()
	verifier := oauth2.GenerateVerifier()
	conf := &oauth2.Config{ClientID: c.Client.ID, RedirectURL: redirectURI, Scopes: []string{"openid", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: issuer + "/oauth2/authorize"}}
	next := conf.AuthCodeURL("bench", oauth2.S256ChallengeOption(verifier))
	for range 4 {
		resp, err := p.Client.Get(next)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			b.Fatalf("authorization stopped at %s with %d", next, resp.StatusCode)
		}
		if !strings.HasPrefix(loc.String(), redirectURI) {
			next = loc.String()
			continue
		}
		out, err := tokenRequest(p.Client, issuer+"/oauth2/token", url.Values{"grant_type": {"authorization_code"},
			"code": {loc.Query().Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}, c.Client.ID, c.Secret)
		if err != nil {
			b.Fatal(err)
		}
		rt, _ := out["refresh_token"].(string)
		if rt == "" {
			b.Fatalf("no refresh token: %v", out)
		}
		return rt
	}
	b.Fatal("authorization did not reach the redirect URI")
	return ""
}

// runLoad calls do from benchParallelism×GOMAXPROCS goroutines b.N times in all and
// reports requests per second and latency percentiles, which it also returns. When
// families is set, each goroutine borrows one refresh token chain from it for the run
// and passes it to do, which advances it.
func runLoad(b *testing.B, hc *http.Client, do func(hc *http.Client, family *string) error, families chan string) float64 {
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var family string
		if families != nil {
			family = <-families
			defer func() { families <- family }()
		}
		mine := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			if err := do(hc, &family); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	perSecond := float64(len(lat)) / elapsed.Seconds()
	b.ReportMetric(perSecond, "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	return perSecond
}

// tokenRequest posts form with HTTP Basic client authentication and decodes the
// successful JSON answer; any other answer is an error.
func tokenRequest(hc *http.Client, tokenURL string, form url.Values, id, secret string) (map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token endpoint answered %d: %s", resp.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	if out["access_token"] == nil {
		return nil, fmt.Errorf("no access token: %s", raw)
	}
	return out, nil
}

// baselineClaims have the shape of Gatehouse's client_credentials access token.
type baselineClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	Expiry   *jwt.NumericDate `json:"exp"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	ID       string           `json:"jti"`
	ClientID string           `json:"client_id"`
	Scope    string           `json:"scope"`
}

// benchBaseline serves a token endpoint that does nothing but read the form and sign
// an ES256 access token, on 127.0.0.1, and drives it like the real one.
func benchBaseline(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "baseline"}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/t/" + tenantID
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _, _ := r.BasicAuth()
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		now := time.Now()
		// Signed the way the token endpoint signs: the marshalled claims, directly.
		payload, err := json.Marshal(baselineClaims{Issuer: issuer, Subject: id, Audience: jwt.Audience{issuer},
			Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: "cc." + rand.Text(),
			ClientID: id, Scope: r.PostForm.Get("scope")})
		var at string
		if err == nil {
			var obj *jose.JSONWebSignature
			if obj, err = signer.Sign(payload); err == nil {
				at, err = obj.CompactSerialize()
			}
		}
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 600,
			"scope": r.PostForm.Get("scope")})
	})}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	b.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {benchScope}}
	baselinePerSecond = runLoad(b, hc, func(hc *http.Client, _ *string) error {
		_, err := tokenRequest(hc, issuer+"/oauth2/token", form, "bench-client", "bench-secret")
		return err
	}, nil)
}
