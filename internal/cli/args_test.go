package cli_test

import (
	"strings"
	"testing"
)

// TestMissingArgumentNamesIt: every command that takes one positional argument,
// given none or two, says in one line what is missing and how the command is typed,
// never cobra's bare "accepts 1 arg(s), received 0".
func TestMissingArgumentNamesIt(t *testing.T) {
	g := newMigrated(t)
	for _, tc := range []struct {
		cmd, what, usage string
	}{
		{"tap approve", "the pass ID", "gatehouse tap approve ID [--operator OPERATOR] [--tenant TENANT] [--json]"},
		{"tap revoke", "the pass ID", "gatehouse tap revoke ID [--operator OPERATOR] [--tenant TENANT]"},
		{"tenant create", "the tenant ID", "gatehouse tenant create ID"},
		{"tenant show", "the tenant ID", "gatehouse tenant show ID"},
		{"client show", "the client ID", "gatehouse client show CLIENT_ID"},
		{"client update", "the client ID", "gatehouse client update CLIENT_ID"},
		{"client delete", "the client ID", "gatehouse client delete CLIENT_ID"},
		{"client rotate-secret", "the client ID", "gatehouse client rotate-secret CLIENT_ID"},
		{"user show", "the user", "gatehouse user show USER [--tenant TENANT] [--json]"},
		{"user lock", "the user", "gatehouse user lock USER [--reason REASON] [--tenant TENANT] [--json]"},
		{"user unlock", "the user", "gatehouse user unlock USER"},
		{"user disable", "the user", "gatehouse user disable USER"},
		{"user end-hold", "the user", "gatehouse user end-hold USER [--operator OPERATOR] [--tenant TENANT] [--json]"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			args := strings.Fields(tc.cmd)
			line := g.mustFail(args...)
			mustContain(t, tc.cmd, line, "gatehouse: "+tc.cmd+": missing "+tc.what, "(usage: "+tc.usage)
			line = g.mustFail(append(args, "one", "two")...)
			mustContain(t, tc.cmd+" one two", line, tc.cmd+": takes only "+tc.what, "got 2 arguments", "(usage: "+tc.usage)
			if strings.Contains(line, "arg(s)") {
				t.Errorf("%s: cobra's wording %q", tc.cmd, line)
			}
		})
	}
}
