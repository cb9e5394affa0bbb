package cli_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"testing"
	"time"
)

// keyOut and rotationOut are the --json forms scripts rely on.
type keyOut struct {
	KID         string    `json:"kid"`
	Alg         string    `json:"alg"`
	State       string    `json:"state"`
	ActivatesAt time.Time `json:"activates_at"`
	RetiresAt   time.Time `json:"retires_at"`
	RetireUntil time.Time `json:"retire_until"`
}

type rotationOut struct {
	Tenant      string    `json:"tenant"`
	Alg         string    `json:"alg"`
	KID         string    `json:"kid"`
	ActivatesAt time.Time `json:"activates_at"`
	PreviousKID string    `json:"previous_kid"`
	RetireUntil time.Time `json:"previous_retire_until"`
	Deleted     []string  `json:"deleted"`
}

// writeKEK puts a key-encryption key made of b where the commands look for it.
func (g *gatehouse) writeKEK(b byte) {
	g.t.Helper()
	kek := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
	if err := os.WriteFile(g.kekPath(), []byte(kek+"\n"), 0o600); err != nil {
		g.t.Fatal(err)
	}
}

func TestKeysRotateAndList(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)

	// Listing needs no key-encryption key; rotating refuses to invent one.
	mustContain(t, "keys list", g.mustRun("keys", "list"), "no signing keys yet")
	if ks := mustJSON[[]keyOut](g, "keys", "list"); len(ks) != 0 {
		t.Errorf("keys list --json = %+v, want []", ks)
	}
	mustContain(t, "rotate without KEK", g.mustFail("keys", "rotate"), "does not exist", "gatehouse serve")
	if _, err := os.Stat(g.kekPath()); !os.IsNotExist(err) {
		t.Fatalf("keys rotate created a key-encryption key: %v", err)
	}
	g.writeKEK(1)

	first := mustJSON[rotationOut](g, "keys", "rotate", "--alg", "ES256")
	if first.KID == "" || first.PreviousKID != "" || first.Alg != "ES256" || first.Tenant != "default" {
		t.Fatalf("first rotation %+v, want a key active at once", first)
	}
	before := time.Now()
	second := mustJSON[rotationOut](g, "keys", "rotate", "--alg", "ES256", "--overlap", "2h", "--max-token-lifetime", "1h")
	if second.PreviousKID != first.KID {
		t.Errorf("second rotation replaces %q, want %q", second.PreviousKID, first.KID)
	}
	if d := second.ActivatesAt.Sub(before); d < 2*time.Hour-time.Minute || d > 2*time.Hour+time.Minute {
		t.Errorf("new key activates %v from now, want 2h", d)
	}
	if d := second.RetireUntil.Sub(second.ActivatesAt); d != time.Hour {
		t.Errorf("old key stays published %v after it stops signing, want 1h", d)
	}

	ks := mustJSON[[]keyOut](g, "keys", "list")
	if len(ks) != 2 || ks[0].KID != first.KID || ks[0].State != "active" || ks[1].KID != second.KID || ks[1].State != "next" {
		t.Fatalf("keys list = %+v, want the first key active and the second next", ks)
	}
	mustContain(t, "keys list", g.mustRun("keys", "list"), first.KID, second.KID, "active", "next")

	mustContain(t, "rotate during overlap", g.mustFail("keys", "rotate", "--alg", "ES256"), "already in progress", second.KID)
	text := g.mustRun("keys", "rotate", "--alg", "RS256", "--tenant", "system")
	mustContain(t, "rotate text", text, "RS256", "system", "signs from now on")

	// A key file that does not open the tenant's keys is refused before it seals any.
	g.writeKEK(2)
	mustContain(t, "rotate with another KEK", g.mustFail("keys", "rotate", "--alg", "RS256", "--tenant", "system"), "does not open")
	if ks := mustJSON[[]keyOut](g, "keys", "list", "--tenant", "system"); len(ks) != 1 {
		t.Errorf("a refused rotation stored a key: %+v", ks)
	}

	g.mustRun("audit", "verify", "--tenant", "default")
	mustContain(t, "audit export", g.mustRun("audit", "export", "--tenant", "default"), `"key.rotated"`)
}

func TestKeysRefuse(t *testing.T) {
	t.Parallel()
	g := newMigrated(t)
	g.writeKEK(1)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"keys", "rotate", "--alg", "HS256"}, "must be ES256 or RS256"},
		{[]string{"keys", "rotate", "--overlap", "-1h"}, "must not be negative"},
		{[]string{"keys", "rotate", "--overlap", "soon"}, "invalid argument"},
		{[]string{"keys", "rotate", "--max-token-lifetime", "0s"}, "must be positive"},
		{[]string{"keys", "rotate", "--tenant", "nope"}, "tenant nope not found"},
		{[]string{"keys", "list", "--tenant", "nope"}, "tenant nope not found"},
		{[]string{"keys", "revoke"}, "unknown command"},
	} {
		mustContain(t, "keys", g.mustFail(c.args...), c.want)
	}
}
