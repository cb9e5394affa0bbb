package selfservice

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// eventTypes reads the audit event types declared in the source files matching glob:
// every string constant shaped "<subject>.<what happened>", which is how event types
// are named and how results, severities and actor types are not. Reading the source
// means a type added later is walked without anyone listing it here.
func eventTypes(t *testing.T, glob string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", glob, err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					s, _ := strconv.Unquote(lit.Value)
					if before, after, ok := strings.Cut(s, "."); ok && before != "" && after != "" && !strings.ContainsAny(s, " /") {
						out[vs.Names[i].Name] = s
					}
				}
			}
		}
	}
	return out
}

// TestEveryEventTypeHasASentence walks every audit event type Gatehouse declares (in
// internal/audit, where the device grant's and the OAuth provider's live too, and the
// one-time codes' in internal/otp) and checks that the account page's activity list
// says it in words, for the account's owner and for an operator who acted on another
// account, never as the raw type or the generic fallback.
func TestEveryEventTypeHasASentence(t *testing.T) {
	types := eventTypes(t, filepath.Join("..", "audit", "*.go"))
	for name, typ := range eventTypes(t, filepath.Join("..", "otp", "*.go")) {
		types["otp."+name] = typ
	}
	for _, want := range []string{audit.RecoveryCompleted, audit.DeviceCodeEntered, audit.DeviceGrantsRevoked,
		audit.TAPIssued, audit.FailuresSuppressed, audit.PolicyChanged, audit.ClientCreated, audit.OAuthTokenIssued} {
		found := false
		for _, typ := range types {
			found = found || typ == want
		}
		if !found {
			t.Fatalf("the walk missed %s; it found %v", want, types)
		}
	}
	const owner, operator = "user-ana", "user-op"
	views := []struct {
		name string
		e    store.AuditEvent
	}{
		{"owner's own", store.AuditEvent{ActorType: audit.ActorUser, ActorID: owner, TargetType: "user", TargetID: owner}},
		{"operator's on the owner", store.AuditEvent{ActorType: audit.ActorOperator, ActorID: operator, TargetType: "user", TargetID: owner}},
		{"failed", store.AuditEvent{ActorType: audit.ActorUser, ActorID: owner, TargetType: "user", TargetID: owner, Result: audit.Failure}},
	}
	for name, typ := range types {
		for _, v := range views {
			e := v.e
			e.Type, e.Details = typ, []byte(`{}`)
			if e.Result == "" {
				e.Result = audit.Success
			}
			got := describe(e, owner)
			if got == "" || strings.HasPrefix(got, unknownActivity) || strings.Contains(got, typ) ||
				strings.Contains(got, strings.ReplaceAll(typ, "_", " ")) {
				t.Errorf("%s (%s), %s: activity reads %q; give it a sentence in describe", name, typ, v.name, got)
			}
		}
	}
}

// TestActivitySaysWhoActed checks the sentences that depend on who acted and on whose
// account: an administrator's change to the owner's account says so, and an
// operator's own list says when the change was to another account.
func TestActivitySaysWhoActed(t *testing.T) {
	const owner, operator = "user-ana", "user-op"
	for _, tc := range []struct {
		name   string
		e      store.AuditEvent
		viewer string
		want   string
	}{
		{"hold ended by an operator, seen by the owner",
			store.AuditEvent{Type: audit.RecoveryHoldEnded, ActorType: audit.ActorOperator, ActorID: operator, TargetType: "user", TargetID: owner},
			owner, "The recovery hold on your account was ended early by an administrator"},
		{"hold ended, seen by the operator",
			store.AuditEvent{Type: audit.RecoveryHoldEnded, ActorType: audit.ActorOperator, ActorID: operator, TargetType: "user", TargetID: owner},
			operator, "The recovery hold on another account was ended early"},
		{"pass issued from the command line",
			store.AuditEvent{Type: audit.TAPIssued, ActorType: audit.ActorCLI, ActorID: "root", TargetType: "user", TargetID: owner},
			owner, "A temporary access pass was issued for your account by an administrator"},
		{"locked by an operator",
			store.AuditEvent{Type: audit.UserLocked, ActorType: audit.ActorOperator, ActorID: operator, TargetType: "user", TargetID: owner},
			owner, "Your account was locked by an administrator"},
		{"locked on a report of a recovery that was not the owner's",
			store.AuditEvent{Type: audit.UserLocked, ActorType: audit.ActorUser, ActorID: owner, TargetType: "user", TargetID: owner},
			owner, "Your account was locked"},
		{"own other sessions signed out",
			store.AuditEvent{Type: audit.SessionsRevoked, ActorType: audit.ActorUser, ActorID: owner, TargetType: "user", TargetID: owner,
				Details: []byte(`{"count":2}`)},
			owner, "Signed out 2 other sessions"},
		{"wrong device code",
			store.AuditEvent{Type: audit.DeviceCodeEntered, ActorType: audit.ActorUser, ActorID: owner, TargetType: "user", TargetID: owner,
				Result: audit.Failure},
			owner, "A wrong device code was entered"},
		{"device code entered",
			store.AuditEvent{Type: audit.DeviceCodeEntered, ActorType: audit.ActorUser, ActorID: owner, TargetType: "user", TargetID: owner,
				Result: audit.Success},
			owner, "Entered a code from a device"},
		{"application named in the details",
			store.AuditEvent{Type: audit.ClientCreated, ActorType: audit.ActorOperator, ActorID: operator, TargetType: "client", TargetID: "c1",
				Details: []byte(`{"name":"Mail"}`)},
			operator, `Application "Mail" registered`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.e.Result == "" {
				tc.e.Result = audit.Success
			}
			if got := describe(tc.e, tc.viewer); got != tc.want {
				t.Fatalf("activity reads %q, want %q", got, tc.want)
			}
		})
	}
}
