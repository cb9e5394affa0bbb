package cli_test

import (
	"strings"
	"testing"
)

type tapOut struct {
	ID            string `json:"id"`
	User          string `json:"user"`
	IssuedBy      string `json:"issued_by"`
	NeedsApproval bool   `json:"needs_approval"`
	ApprovedBy    string `json:"approved_by"`
	State         string `json:"state"`
	Pass          string `json:"pass"`
}

// TestTAPTwoPersonRuleOnTheCommandLine: a pass for an admin waits for a second
// operator; the issuer approving it is refused with one line; a different operator's
// approval makes it ready; and every step names the operator in the audit log.
func TestTAPTwoPersonRuleOnTheCommandLine(t *testing.T) {
	g := newMigrated(t)
	op1 := mustJSON[userOut](g, "user", "create", "--tenant", "system", "--email", "op1@example.com", "--role", "operator")
	op2 := mustJSON[userOut](g, "user", "create", "--tenant", "system", "--email", "op2@example.com", "--role", "operator")
	target := mustJSON[userOut](g, "user", "create", "--email", "boss@example.com", "--email-verified", "--role", "admin")

	line := g.mustFail("tap", "issue", "--user", "boss@example.com", "--verified-by", "video call")
	mustContain(t, "issue without an operator", line, "--operator")
	line = g.mustFail("tap", "issue", "--user", "boss@example.com", "--verified-by", "video call", "--operator", "boss@example.com")
	mustContain(t, "issue by a non-operator", line, "operator or admin of the system tenant")
	line = g.mustFail("tap", "issue", "--user", "boss@example.com", "--operator", "op1@example.com")
	mustContain(t, "issue without --verified-by", line, "--verified-by", "identity was checked")
	line = g.mustFail("tap", "revoke", "nopass", "--operator", "op1@example.com")
	mustContain(t, "revoke an unknown pass", line, "no pass nopass in tenant default")
	line = g.mustFail("tap", "issue", "--user", "boss@example.com", "--verified-by", "x", "--ttl", "3h", "--operator", "op1@example.com")
	mustContain(t, "issue beyond the maximum", line, "at most 1h")

	issued := mustJSON[tapOut](g, "tap", "issue", "--user", "boss@example.com", "--verified-by", "video call, passport",
		"--operator", "op1@example.com")
	// --json spells the state as the admin API does; the table keeps words.
	if issued.Pass == "" || issued.User != target.ID || issued.IssuedBy != op1.ID || !issued.NeedsApproval || issued.State != "awaiting_approval" {
		t.Fatalf("issued: %+v", issued)
	}
	if list := mustJSON[[]tapOut](g, "tap", "list"); len(list) != 1 || list[0].State != "awaiting_approval" {
		t.Fatalf("tap list --json: %+v, want one pass in state awaiting_approval", list)
	}
	mustContain(t, "tap list", g.mustRun("tap", "list"), "awaiting approval")
	line = g.mustFail("tap", "approve", issued.ID, "--operator", op1.ID)
	mustContain(t, "self-approval", line, "different operator")
	g.env["GATEHOUSE_OPERATOR"] = "op2@example.com"
	approved := mustJSON[tapOut](g, "tap", "approve", issued.ID)
	if approved.ApprovedBy != op2.ID || approved.State != "ready" {
		t.Fatalf("approved: %+v", approved)
	}
	line = g.mustFail("tap", "approve", issued.ID)
	mustContain(t, "approve twice", line, "already approved")

	list := mustJSON[[]tapOut](g, "tap", "list", "--live")
	if len(list) != 1 || list[0].ID != issued.ID || list[0].Pass != "" {
		t.Fatalf("list: %+v", list)
	}
	g.mustRun("tap", "revoke", issued.ID)
	if list := mustJSON[[]tapOut](g, "tap", "list", "--live"); len(list) != 0 {
		t.Fatalf("live passes after revoke: %+v", list)
	}
	out := g.mustRun("audit", "export", "--tenant", "default")
	for _, want := range []string{`"tap.issued"`, `"tap.approval_refused"`, `"tap.approved"`, `"tap.revoked"`, op1.ID, op2.ID} {
		if !strings.Contains(out, want) {
			t.Errorf("audit export lacks %s", want)
		}
	}
	line = g.mustFail("user", "end-hold", "boss@example.com", "--operator", "op1@example.com")
	mustContain(t, "end a hold that is not there", line, "not on hold")
}
