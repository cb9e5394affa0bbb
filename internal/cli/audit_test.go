package cli_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// exportRecord is the part of an exported audit event these tests read.
type exportRecord struct {
	Tenant    string          `json:"tenant"`
	Seq       int64           `json:"seq"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	ActorType string          `json:"actor_type"`
	Actor     string          `json:"actor"`
	Target    string          `json:"target"`
	Details   json.RawMessage `json:"details"`
	PrevHash  *string         `json:"prev_hash"`
	Hash      *string         `json:"hash"`
}

// exportRecords parses `audit export` output, failing on any line that is not a
// complete event.
func exportRecords(t *testing.T, out string) []exportRecord {
	t.Helper()
	var recs []exportRecord
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" && out == "" {
			break
		}
		var r exportRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("export line %d is not JSON: %v\n%s", i+1, err, line)
		}
		if r.Hash == nil || len(*r.Hash) != 64 || r.PrevHash == nil || r.Tenant == "" || r.Seq < 1 || r.Type == "" {
			t.Fatalf("export line %d lacks tenant, seq, type, hash or prev_hash:\n%s", i+1, line)
		}
		recs = append(recs, r)
	}
	return recs
}

// newWithEvents returns an installation whose default tenant's chain holds
// tenant.created, policy.changed and then one user.created per user: 5 events.
func newWithEvents(t *testing.T) *gatehouse {
	t.Helper()
	g := newMigrated(t)
	for _, email := range []string{"one@example.com", "two@example.com", "three@example.com"} {
		g.mustRun("user", "create", "--email", email)
	}
	return g
}

func TestAuditVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tamper string
		seq    int64
		reason string
	}{
		{"altered details", `UPDATE audit_events SET details = '{"roles":["admin"],"identifiers":1}' WHERE tenant_id = 'default' AND seq = 3`, 3, "altered"},
		{"altered type", `UPDATE audit_events SET type = 'user.unlocked' WHERE tenant_id = 'default' AND seq = 4`, 4, "altered"},
		{"altered actor", `UPDATE audit_events SET actor_id = 'someone-else' WHERE tenant_id = 'default' AND seq = 2`, 2, "altered"},
		{"deleted middle event", `DELETE FROM audit_events WHERE tenant_id = 'default' AND seq = 3`, 3, "missing"},
		{"deleted first event", `DELETE FROM audit_events WHERE tenant_id = 'default' AND seq = 1`, 1, "missing"},
		{"deleted newest event", `DELETE FROM audit_events WHERE tenant_id = 'default' AND seq = 5`, 5, "newest events were deleted"},
		{"rewound head", `UPDATE audit_heads SET seq = 4 WHERE tenant_id = 'default'`, 4, "head was rewound"},
		{"replaced head hash", `UPDATE audit_heads SET hash = 'forged' WHERE tenant_id = 'default'`, 5, "hash does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newWithEvents(t)
			ok := g.mustRun("audit", "verify")
			mustContain(t, "audit verify", ok, "tenant default: 5 events, chain intact", "tenant system: 2 events, chain intact")

			if n := g.exec(tc.tamper); n != 1 {
				t.Fatalf("tampering changed %d rows, want 1", n)
			}

			line := g.mustFail("audit", "verify")
			mustContain(t, "audit verify", line, "tenant default", tc.reason)
			if ev := fmt.Sprintf("event #%d", tc.seq); !strings.Contains(line, ev+":") && !strings.Contains(line, ev+" ") {
				t.Errorf("audit verify does not name %s: %s", ev, line)
			}

			r := g.run("audit", "verify", "--json")
			if r.code != 1 {
				t.Fatalf("audit verify --json: exit %d, want 1", r.code)
			}
			mustOneLine(t, r.stderr)
			got := mustDecode[struct {
				OK    *bool `json:"ok"`
				Break struct {
					Tenant string `json:"tenant"`
					Seq    int64  `json:"seq"`
					Reason string `json:"reason"`
				} `json:"break"`
			}](t, r.stdout)
			if got.OK == nil || *got.OK || got.Break.Tenant != "default" || got.Break.Seq != tc.seq || !strings.Contains(got.Break.Reason, tc.reason) {
				t.Errorf("audit verify --json = %s", r.stdout)
			}

			// The other tenants' chains are separate and still verify on their own.
			g.mustRun("audit", "verify", "--tenant", "system")
			mustFailCode(t, g.run("audit", "verify", "--tenant", "default"))
		})
	}
}

func mustFailCode(t *testing.T, r result) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	mustOneLine(t, r.stderr)
}

func TestAuditVerifyJSON(t *testing.T) {
	t.Parallel()
	g := newWithEvents(t)
	got := mustJSON[struct {
		OK      bool     `json:"ok"`
		Tenants []string `json:"tenants"`
	}](g, "audit", "verify")
	if !got.OK || strings.Join(got.Tenants, ",") != "default,system" {
		t.Errorf("audit verify --json = %+v, want ok for default and system", got)
	}
	mustContain(t, "unknown tenant", g.mustFail("audit", "verify", "--tenant", "nope"), "tenant nope not found")
}

func TestAuditExport(t *testing.T) {
	t.Parallel()
	g := newWithEvents(t)
	g.mustRun("user", "lock", "two@example.com")

	recs := exportRecords(t, g.mustRun("audit", "export", "--since", "1h", "--format", "jsonl"))
	// default: 2 + 3 users + 1 lock; system: 2.
	if len(recs) != 8 {
		t.Fatalf("audit export returned %d events, want 8", len(recs))
	}
	prev := map[string]string{}
	for _, r := range recs {
		if *r.PrevHash != prev[r.Tenant] {
			t.Errorf("%s #%d prev_hash %q does not link to the previous exported hash %q", r.Tenant, r.Seq, *r.PrevHash, prev[r.Tenant])
		}
		prev[r.Tenant] = *r.Hash
		if !json.Valid(r.Details) || !strings.HasPrefix(string(r.Details), "{") {
			t.Errorf("%s #%d details are not a JSON object: %s", r.Tenant, r.Seq, r.Details)
		}
	}

	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--tenant", "system"}, 2},
		{[]string{"--type", "user.created"}, 3},
		{[]string{"--type", "user."}, 4},
		{[]string{"--type", "tenant.created"}, 2},
		{[]string{"--since", "2999-01-01"}, 0},
		{[]string{"--until", "2000-01-01T00:00:00Z"}, 0},
		{[]string{"--since", "2000-01-01", "--until", "2999-01-01T00:00:00Z"}, 8},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got := exportRecords(t, g.mustRun(append([]string{"audit", "export"}, tc.args...)...))
			if len(got) != tc.want {
				t.Errorf("audit export %s returned %d events, want %d", strings.Join(tc.args, " "), len(got), tc.want)
			}
		})
	}
}

func TestAuditExportRejects(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	for _, tc := range []struct{ args, want []string }{
		{[]string{"--format", "csv"}, []string{"--format", "csv"}},
		{[]string{"--since", "garbage"}, []string{"--since", "garbage"}},
		{[]string{"--until", "yesterday"}, []string{"--until"}},
		{[]string{"--since", "-1h"}, []string{"--since"}},
		{[]string{"--tenant", "nope"}, []string{"tenant nope not found"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := g.run(append([]string{"audit", "export"}, tc.args...)...)
			if r.code != 1 || r.stdout != "" {
				t.Fatalf("exit %d with stdout %q, want exit 1 and nothing exported", r.code, r.stdout)
			}
			mustContain(t, "error", mustOneLine(t, r.stderr), tc.want...)
		})
	}
}
