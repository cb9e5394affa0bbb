package browsertest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// helperEnv makes TestHelperProcess act out a scenario, in a process of its own
// whose output the tests below read.
const helperEnv = "GATEHOUSE_BROWSERTEST_HELPER"

// TestHelperProcess is not a test by itself: the tests below run the test
// binary again with helperEnv set, to watch a test skip or fail from outside.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "no-chromium":
		// PATH is an empty directory here, so neither place has a Chromium.
		start(t, []string{"chromium", filepath.Join(t.TempDir(), "chromium")})
		t.Error("start returned without a Chromium")
	case "hung-page":
		site := newSite(t)
		tab := New(t).NewTab(t)
		tab.Timeout = 2 * time.Second
		tab.Navigate(site + "/passkey.html")
		// Without a virtual authenticator, a WebAuthn request waits for a security key for ever.
		tab.Eval(`navigator.credentials.get({publicKey: {challenge: new Uint8Array(32)}})`, nil)
		t.Error("Eval returned from a request that never ends")
	default:
		t.Fatalf("unknown %s", helperEnv)
	}
}

// runHelper runs TestHelperProcess in a new process and returns its output and
// whether it passed.
func runHelper(t *testing.T, scenario string, env ...string) (output string, passed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	// Later entries win, so these override the environment of this process.
	cmd.Env = append(os.Environ(), helperEnv+"="+scenario)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running %s: %v", scenario, err)
	}
	return string(out), err == nil
}

func TestMissingChromium(t *testing.T) {
	emptyPath := "PATH=" + t.TempDir()

	t.Run("skips", func(t *testing.T) {
		out, passed := runHelper(t, "no-chromium", emptyPath, RequireEnv+"=")
		if !passed || !strings.Contains(out, "--- SKIP: TestHelperProcess") ||
			!strings.Contains(out, "browser tests skipped: install Debian's chromium package to run them") {
			t.Errorf("without Chromium the test should skip with the install hint; it printed:\n%s", out)
		}
	})

	t.Run("fails when required", func(t *testing.T) {
		out, passed := runHelper(t, "no-chromium", emptyPath, RequireEnv+"=1")
		if passed || !strings.Contains(out, "--- FAIL: TestHelperProcess") ||
			!strings.Contains(out, "Chromium is required (GATEHOUSE_REQUIRE_BROWSER=1) but not installed: apt-get install chromium") {
			t.Errorf("with %s=1 the test should fail with the install hint; it printed:\n%s", RequireEnv, out)
		}
		if strings.Contains(out, "start returned") {
			t.Errorf("the test went on after the failure:\n%s", out)
		}
	})
}

func TestHungPageFailsTheTest(t *testing.T) {
	if _, ok := findChromium(chromiumCandidates()); !ok {
		New(t) // skips or fails as every browser test does
	}
	shots := t.TempDir()
	out, passed := runHelper(t, "hung-page", RequireEnv+"=1", ScreenshotDirEnv+"="+shots)
	if passed || !strings.Contains(out, "did not finish within 2s") {
		t.Fatalf("a request that never ends should fail the test after Tab.Timeout; it printed:\n%s", out)
	}
	if strings.Contains(out, "Eval returned") {
		t.Errorf("the test went on after the failure:\n%s", out)
	}
	m := regexp.MustCompile(`screenshot: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the failure names no screenshot:\n%s", out)
	}
	if want := filepath.Join(shots, "TestHelperProcess-01-failure.png"); m[1] != want {
		t.Errorf("failure screenshot at %s, want %s", m[1], want)
	}
	data, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "\x89PNG\r\n\x1a\n") {
		t.Errorf("%s is not a PNG", m[1])
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TestSignIn", "TestSignIn"},
		{"TestSignIn/no passkey", "TestSignIn_no_passkey"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{"signed-in.v2", "signed-in.v2"},
		{"", "_"},
		{"ünïcode", "_n_code"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
