package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/client"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func emptyIfNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// clientError turns client and store errors into sentences for the terminal.
func clientError(what string, err error) error {
	if errors.Is(err, client.ErrInvalid) || errors.Is(err, keys.ErrInvalid) {
		return errors.New(strings.TrimPrefix(err.Error(), "invalid: "))
	}
	return userError(what, err)
}

// clientService opens the store and checks the tenant exists, so a typo in --tenant
// says so instead of "client not found".
func (ce *cmdEnv) clientService(c *cobra.Command) (*client.Service, func(), error) {
	db, _, err := ce.openStore(c.Context())
	if err != nil {
		return nil, nil, err
	}
	if _, err := (&tenant.Service{Store: db, Now: time.Now}).Get(c.Context(), ce.tenant); err != nil {
		db.Close()
		return nil, nil, userError("tenant "+ce.tenant, err)
	}
	return &client.Service{Store: db, Now: time.Now}, func() { db.Close() }, nil
}

// clientFlags holds the settings flags that create and update share.
type clientFlags struct {
	name, typ, authMethod, idTokenAlg, jwksFile, jwksURI, proximity string
	redirects, postLogout, grants, scopes                           []string
	firstParty, requirePAR, dpop, verificationComplete              bool
}

func (f *clientFlags) register(fs *pflag.FlagSet, create bool) {
	fs.StringVar(&f.name, "name", "", "display name, shown on the consent screen")
	if create {
		fs.StringVar(&f.typ, "type", store.ClientConfidential, "confidential (a server that keeps a secret) or public (a native or browser app, PKCE only)")
	}
	fs.StringVar(&f.authMethod, "auth-method", "", "token endpoint auth method: client_secret_basic (default for confidential), client_secret_post, private_key_jwt, none (public)")
	fs.StringArrayVar(&f.redirects, "redirect-uri", nil, "redirect URI, matched exactly (repeatable; on update the list replaces the old one)")
	fs.StringArrayVar(&f.postLogout, "post-logout-redirect-uri", nil, "post-logout redirect URI (repeatable)")
	fs.StringArrayVar(&f.grants, "grant", nil, "allowed grant: authorization_code (default), refresh_token, client_credentials, device_code (repeatable)")
	fs.StringArrayVar(&f.scopes, "scope", nil, "allowed scope (repeatable; default openid, profile, email)")
	fs.BoolVar(&f.firstParty, "first-party", false, "first-party client: skips the consent screen")
	fs.BoolVar(&f.requirePAR, "require-par", false, "require pushed authorization requests (RFC 9126)")
	fs.BoolVar(&f.dpop, "dpop", false, "bind access tokens to a DPoP key (RFC 9449)")
	fs.StringVar(&f.idTokenAlg, "id-token-alg", "", "ID token signing algorithm: ES256 (default) or RS256")
	fs.StringVar(&f.jwksFile, "jwks-file", "", "file holding the client's public keys as a JWK Set, for private_key_jwt")
	fs.StringVar(&f.jwksURI, "jwks-uri", "", "not supported: Gatehouse does not fetch keys over the network; use --jwks-file")
	fs.BoolVar(&f.verificationComplete, "verification-uri-complete", false, "device flow: allow verification_uri_complete (a link with the code in it)")
	fs.StringVar(&f.proximity, "device-proximity", "", "device flow: override the tenant's proximity check: off, warn or require")
}

// grantName accepts device_code for the device grant's URN.
func grantNames(v []string) []string {
	out := make([]string, 0, len(v))
	for _, g := range v {
		if g == "device_code" {
			g = client.GrantDeviceCode
		}
		out = append(out, g)
	}
	return out
}

func readJWKS(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--jwks-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("--jwks-file: %w", err)
	}
	return b, nil
}

func (f *clientFlags) settings() (client.Settings, error) {
	s := client.Settings{
		Name: f.name, Type: f.typ, AuthMethod: f.authMethod, JWKSURI: f.jwksURI, RedirectURIs: f.redirects,
		PostLogoutRedirectURIs: f.postLogout, GrantTypes: grantNames(f.grants), Scopes: f.scopes,
		FirstParty: f.firstParty, RequirePAR: f.requirePAR, DPoPBound: f.dpop, IDTokenAlg: f.idTokenAlg,
		VerificationURIComplete: f.verificationComplete, DeviceProximity: f.proximity,
	}
	if f.jwksFile != "" {
		b, err := readJWKS(f.jwksFile)
		if err != nil {
			return s, err
		}
		s.JWKS = b
	}
	return s, nil
}

// changes turns the flags given on the command line into a partial update.
func (f *clientFlags) changes(fs *pflag.FlagSet) (client.Changes, int, error) {
	var ch client.Changes
	n := 0
	str := func(name string, v string) *string {
		if !fs.Changed(name) {
			return nil
		}
		n++
		return &v
	}
	list := func(name string, v []string) *[]string {
		if !fs.Changed(name) {
			return nil
		}
		n++
		return &v
	}
	flag := func(name string, v bool) *bool {
		if !fs.Changed(name) {
			return nil
		}
		n++
		return &v
	}
	ch.Name, ch.AuthMethod, ch.IDTokenAlg = str("name", f.name), str("auth-method", f.authMethod), str("id-token-alg", f.idTokenAlg)
	ch.JWKSURI, ch.DeviceProximity = str("jwks-uri", f.jwksURI), str("device-proximity", f.proximity)
	ch.RedirectURIs, ch.PostLogoutRedirectURIs = list("redirect-uri", f.redirects), list("post-logout-redirect-uri", f.postLogout)
	ch.GrantTypes, ch.Scopes = list("grant", grantNames(f.grants)), list("scope", f.scopes)
	ch.FirstParty, ch.RequirePAR, ch.DPoPBound = flag("first-party", f.firstParty), flag("require-par", f.requirePAR), flag("dpop", f.dpop)
	ch.VerificationURIComplete = flag("verification-uri-complete", f.verificationComplete)
	if fs.Changed("jwks-file") {
		n++
		b, err := readJWKS(f.jwksFile)
		if err != nil {
			return ch, n, err
		}
		ch.JWKS = &b
	}
	return ch, n, nil
}

// printResult shows a client after a change: warnings on stderr, then the client, and
// the secret if the change made one, which is the only time anyone sees it.
func (ce *cmdEnv) printResult(verb string, res *client.Result) error {
	for _, w := range res.Warnings {
		fmt.Fprintln(ce.Stderr, "warning: "+w)
	}
	if ce.json {
		return ce.printJSON(client.ResultView(res))
	}
	c := res.Client
	fmt.Fprintf(ce.Stdout, "%s client %s (%s) in tenant %s\n", verb, c.ID, c.Name, c.TenantID)
	if res.Secret != "" {
		fmt.Fprintf(ce.Stdout, "client_id:     %s\nclient_secret: %s\n", c.ID, res.Secret)
		fmt.Fprintln(ce.Stdout, "The secret is shown only this once and is stored only as a hash: keep it now.")
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "(none)"
	}
	return strings.Join(v, " ")
}

func (ce *cmdEnv) printClient(c *store.Client) error {
	if ce.json {
		return ce.printJSON(client.NewView(c))
	}
	secretState := "none"
	if c.SecretHash != "" {
		secretState = "set " + c.SecretRotatedAt.Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(ce.Stdout, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"client_id", c.ID}, {"name", c.Name}, {"type", c.Type}, {"auth method", c.AuthMethod},
		{"secret", secretState}, {"jwks", yesNo(len(c.JWKS) > 0)},
		{"redirect URIs", orNone(c.RedirectURIs)}, {"post-logout URIs", orNone(c.PostLogoutRedirectURIs)},
		{"grants", orNone(c.GrantTypes)}, {"scopes", orNone(c.Scopes)}, {"first party", yesNo(c.FirstParty)},
		{"require PAR", yesNo(c.RequirePAR)}, {"DPoP-bound", yesNo(c.DPoPBound)}, {"ID token alg", c.IDTokenAlg},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if client.AllowsGrant(c, client.GrantDeviceCode) {
		proximity := c.DeviceProximity
		if proximity == "" {
			proximity = "tenant policy"
		}
		fmt.Fprintf(tw, "device:\tverification_uri_complete=%s proximity=%s\n", yesNo(c.VerificationURIComplete), proximity)
	}
	fmt.Fprintf(tw, "created:\t%s\nupdated:\t%s\n", c.CreatedAt.Format(time.RFC3339), c.UpdatedAt.Format(time.RFC3339))
	return tw.Flush()
}

func (ce *cmdEnv) clientCmd() *cobra.Command {
	c := groupCmd("client", "Register and manage OAuth / OpenID Connect clients")

	var cf clientFlags
	create := &cobra.Command{
		Use:   "create",
		Short: "Register a client; its secret, if it has one, is printed once",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			in, err := cf.settings()
			if err != nil {
				return err
			}
			svc, done, err := ce.clientService(c)
			if err != nil {
				return err
			}
			defer done()
			res, err := svc.Create(c.Context(), ce.tenant, in, ce.cliMeta())
			if err != nil {
				return clientError("client", err)
			}
			return ce.printResult("created", res)
		},
	}
	cf.register(create.Flags(), true)
	ce.addTenantFlag(create)
	ce.addJSONFlag(create)

	list := &cobra.Command{
		Use:   "list",
		Short: "List a tenant's clients",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			svc, done, err := ce.clientService(c)
			if err != nil {
				return err
			}
			defer done()
			cs, err := svc.List(c.Context(), ce.tenant)
			if err != nil {
				return err
			}
			if ce.json {
				out := make([]client.View, 0, len(cs))
				for i := range cs {
					out = append(out, client.NewView(&cs[i]))
				}
				return ce.printJSON(out)
			}
			tw := tabwriter.NewWriter(ce.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\tAUTH\tGRANTS\tCREATED")
			for _, cl := range cs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cl.ID, cl.Name, cl.Type, cl.AuthMethod,
					strings.Join(grantShort(cl.GrantTypes), ","), cl.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	ce.addTenantFlag(list)
	ce.addJSONFlag(list)

	show := &cobra.Command{
		Use:   "show CLIENT_ID",
		Short: "Show a client's settings (never its secret)",
		Args:  oneArg("the client ID"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, done, err := ce.clientService(c)
			if err != nil {
				return err
			}
			defer done()
			cl, err := svc.Get(c.Context(), ce.tenant, args[0])
			if err != nil {
				return clientError("client "+args[0], err)
			}
			return ce.printClient(cl)
		},
	}
	ce.addTenantFlag(show)
	ce.addJSONFlag(show)

	var uf clientFlags
	update := &cobra.Command{
		Use:   "update CLIENT_ID",
		Short: "Change some of a client's settings; lists given replace the old ones",
		Args:  oneArg("the client ID"),
		RunE: func(c *cobra.Command, args []string) error {
			ch, n, err := uf.changes(c.Flags())
			if err != nil {
				return err
			}
			if n == 0 {
				return errors.New("nothing to update: give at least one setting flag")
			}
			svc, done, err := ce.clientService(c)
			if err != nil {
				return err
			}
			defer done()
			res, err := svc.Update(c.Context(), ce.tenant, args[0], ch, ce.cliMeta())
			if err != nil {
				return clientError("client "+args[0], err)
			}
			return ce.printResult("updated", res)
		},
	}
	uf.register(update.Flags(), false)
	ce.addTenantFlag(update)
	ce.addJSONFlag(update)

	del := &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client",
		Args:  oneArg("the client ID"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, done, err := ce.clientService(c)
			if err != nil {
				return err
			}
			defer done()
			if err := svc.Delete(c.Context(), ce.tenant, args[0], ce.cliMeta()); err != nil {
				return clientError("client "+args[0], err)
			}
			if ce.json {
				return ce.printJSON(map[string]any{"client_id": args[0], "tenant": ce.tenant, "deleted": true})
			}
			fmt.Fprintf(ce.Stdout, "deleted client %s from tenant %s\n", args[0], ce.tenant)
			return nil
		},
	}
	ce.addTenantFlag(del)
	ce.addJSONFlag(del)

	rotate := &cobra.Command{
		Use:   "rotate-secret CLIENT_ID",
		Short: "Replace a client's secret now; the new one is printed once and the old one stops working",
		Args:  oneArg("the client ID"),
		RunE: func(c *cobra.Command, args []string) error {
			svc, done, err := ce.clientService(c)
			if err != nil {
				return err
			}
			defer done()
			res, err := svc.RotateSecret(c.Context(), ce.tenant, args[0], ce.cliMeta())
			if err != nil {
				return clientError("client "+args[0], err)
			}
			return ce.printResult("rotated the secret of", res)
		},
	}
	ce.addTenantFlag(rotate)
	ce.addJSONFlag(rotate)

	c.AddCommand(create, list, show, update, del, rotate)
	return c
}

// grantShort shortens the device grant's URN for tables.
func grantShort(v []string) []string {
	out := make([]string, 0, len(v))
	for _, g := range v {
		if g == client.GrantDeviceCode {
			g = "device_code"
		}
		out = append(out, g)
	}
	return out
}
