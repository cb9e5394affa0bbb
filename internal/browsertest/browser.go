package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// RequireEnv is the environment variable that turns a missing Chromium from a
// skip into a failure; CI sets it to 1 so that no browser test silently skips.
const RequireEnv = "GATEHOUSE_REQUIRE_BROWSER"

const (
	// DefaultTimeout bounds each call on a Tab unless Tab.Timeout says otherwise.
	DefaultTimeout = 30 * time.Second

	// startTimeout bounds starting Chromium and opening a tab; a cold start on a
	// busy CI machine takes a few seconds, never a minute.
	startTimeout = 60 * time.Second

	// closeTimeout bounds the graceful shutdown before the process is killed.
	closeTimeout = 10 * time.Second

	// Screenshots are taken at this size; wide enough for the desktop layout.
	windowWidth, windowHeight = 1280, 900
)

// Browser is one headless Chromium process, closed when the test that started
// it ends. Its subtests can share it, each with tabs of its own.
type Browser struct {
	// ctx is the chromedp context whose first run started the process.
	// Tabs are child contexts of it.
	ctx context.Context
}

// New starts a headless Chromium for the test t and closes it when t ends.
//
// It looks for "chromium" on PATH, then /usr/bin/chromium and
// /usr/bin/chromium-browser. Without one the test is skipped, or fails when the
// environment variable GATEHOUSE_REQUIRE_BROWSER is 1, as it is in CI.
func New(t *testing.T) *Browser {
	t.Helper()
	return start(t, chromiumCandidates())
}

// chromiumCandidates lists where Debian and Ubuntu install Chromium, in the
// order New tries them.
func chromiumCandidates() []string {
	return []string{"chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"}
}

// findChromium returns the first candidate that is an executable, looked up on
// PATH when it is a bare name.
func findChromium(candidates []string) (string, bool) {
	for _, c := range candidates {
		if path, err := exec.LookPath(c); err == nil {
			return path, true
		}
	}
	return "", false
}

// start is New with the list of places to look for Chromium, so that the
// package's own tests can make it find none.
func start(t *testing.T, candidates []string) *Browser {
	t.Helper()
	path, ok := findChromium(candidates)
	if !ok {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal("Chromium is required (GATEHOUSE_REQUIRE_BROWSER=1) but not installed: apt-get install chromium")
		}
		t.Skip("browser tests skipped: install Debian's chromium package to run them")
	}

	// Registered before the browser's cleanup, so it is removed after Chromium exits.
	profile := t.TempDir()
	output := &tailBuffer{max: 16 << 10}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions(path, profile, output)...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)

	b := &Browser{ctx: ctx}
	t.Cleanup(func() {
		err := withDeadline(closeTimeout, cancelAlloc, func() error {
			// A graceful close lets Chromium stop its helper processes before the profile directory is removed.
			closeCtx, cancel := context.WithTimeout(ctx, closeTimeout)
			defer cancel()
			err := chromedp.Cancel(closeCtx)
			cancelBrowser()
			cancelAlloc()
			return err
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing Chromium: %v", err)
		}
		if t.Failed() {
			t.Logf("Chromium output (last %d bytes, without D-Bus complaints):\n%s", output.max, withoutDBus(output.String()))
		}
	})

	// The first run starts the process, and its context lives as long as the
	// browser, so it gets no deadline: a guard kills a start that hangs.
	// Its output is logged by the cleanup above when this fails.
	if err := withDeadline(startTimeout, cancelAlloc, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	vctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	version, err := chromedp.CallBrowser(vctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		t.Fatalf("asking Chromium (%s) for its version: %v", path, err)
	}
	t.Logf("browser: %s (%s)", version.Product, path)
	return b
}

// allocatorOptions are the command line of Chromium: headless, offline and with
// a profile of its own. It deliberately does not start from chromedp's
// DefaultExecAllocatorOptions, so that every flag here is one we chose.
func allocatorOptions(path, profile string, output *tailBuffer) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		// Root in a container cannot use the sandbox, and tests only load our own pages.
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		// These turn off Chromium's own calls to Google's services: updates, sync,
		// component downloads, the default apps and extension updates.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		// Even so, Chromium 156 still looks up accounts.google.com, clients2.google.com,
		// update.googleapis.com and optimizationguide-pa.googleapis.com at start.
		// Failing every name but the loopback ones keeps it off the network, since
		// tests browse loopback servers only. The rules match IP addresses too.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.0.0.1, EXCLUDE ::1"),
		// Keep Chromium away from the desktop keyring, which may prompt or hang.
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(windowWidth, windowHeight),
		// Debian's launcher script appends $CHROMIUM_FLAGS; a developer's own flags must not change the tests.
		chromedp.Env("CHROMIUM_FLAGS="),
		chromedp.CombinedOutput(output),
	}
}

// withDeadline runs f and gives up after d, calling abort so that f returns.
// It is for the calls whose context must outlive them, which therefore cannot
// carry a deadline of their own. It waits a little for f to return after abort,
// but not forever: a test must end even when Chromium does not.
func withDeadline(d time.Duration, abort func(), f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
	}
	abort()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	return fmt.Errorf("gave up after %v", d)
}

// withoutDBus drops the lines in which Chromium complains that a container has
// no D-Bus: there are dozens, and they hide the lines that explain a failure.
func withoutDBus(output string) string {
	lines := strings.Split(output, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.Contains(l, ":ERROR:dbus/") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// tailBuffer keeps the last max bytes written to it; Chromium's output is only
// read when a test fails.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write keeps p and drops what no longer fits.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = bytes.Clone(b.buf[over:])
	}
	return len(p), nil
}

// String returns what is kept.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
