package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Tab is one page of a Browser, with its own console log and virtual
// authenticators. It belongs to the test that opened it: its methods fail that
// test, so a subtest opens its own Tab.
type Tab struct {
	// Timeout bounds each call that waits on the page; it is DefaultTimeout
	// unless the test sets it.
	Timeout time.Duration

	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // see ConsoleErrors
	webauthn bool     // whether the WebAuthn domain is enabled
}

// NewTab opens a tab for the test t and closes it when t ends.
func (b *Browser) NewTab(t *testing.T) *Tab {
	t.Helper()
	tab := &Tab{Timeout: DefaultTimeout, t: t}
	// The listener is in place before the tab exists, so no console message is missed.
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(tab.observe))
	tab.ctx = ctx
	t.Cleanup(cancel)
	// As for the browser, the first run binds the tab to its context, so it gets a guard instead of a deadline.
	if err := withDeadline(startTimeout, cancel, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("browser: opening a tab: %v", err)
	}
	return tab
}

// Run runs the actions in order and fails the test, with a screenshot of the
// page, when one fails or all of them take longer than Timeout.
func (tab *Tab) Run(actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	tab.run("Run", actions...)
}

// run is Run with a description of the step for the failure message.
func (tab *Tab) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	runValue(tab, step, chromedp.Steps(actions...))
}

// runValue runs one action that returns a value, as Run does.
func runValue[T any](tab *Tab, step string, action chromedp.Action[T]) T {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, tab.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		tab.fail(step, err)
	}
	return v
}

// fail ends the test with what went wrong, where the page was, what it logged
// and a screenshot of it.
func (tab *Tab) fail(step string, err error) {
	tab.t.Helper()
	var msg strings.Builder
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(&msg, "browser: %s did not finish within %v (Tab.Timeout): %v", step, tab.Timeout, err)
	} else {
		fmt.Fprintf(&msg, "browser: %s: %v", step, err)
	}
	// The tab may be the thing that hangs, so these get a short deadline of their own.
	ctx, cancel := context.WithTimeout(tab.ctx, 5*time.Second)
	defer cancel()
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		fmt.Fprintf(&msg, "\n  page: %s", loc)
	}
	for _, p := range tab.ConsoleErrors() {
		fmt.Fprintf(&msg, "\n  console: %s", p)
	}
	if path, err := tab.saveScreenshot(ctx, "failure"); err != nil {
		fmt.Fprintf(&msg, "\n  no screenshot: %v", err)
	} else {
		fmt.Fprintf(&msg, "\n  screenshot: %s", path)
	}
	tab.t.Fatal(msg.String())
}

// Navigate loads rawURL and waits for its load event.
func (tab *Tab) Navigate(rawURL string) {
	tab.t.Helper()
	tab.run(fmt.Sprintf("Navigate(%q)", rawURL), chromedp.Navigate(rawURL))
}

// WaitVisible waits until an element matching the CSS selector is visible.
func (tab *Tab) WaitVisible(sel string) {
	tab.t.Helper()
	tab.run(fmt.Sprintf("WaitVisible(%q)", sel), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Click waits for the first element matching the CSS selector to be visible
// and clicks it with the mouse, as a user would.
func (tab *Tab) Click(sel string) {
	tab.t.Helper()
	tab.run(fmt.Sprintf("Click(%q)", sel), chromedp.Click(chromedp.CSS(sel)))
}

// SetValue sets the value of the form field matching the CSS selector without
// typing, so no key or input event fires.
func (tab *Tab) SetValue(sel, text string) {
	tab.t.Helper()
	tab.run(fmt.Sprintf("SetValue(%q)", sel), chromedp.SetValue(chromedp.CSS(sel), text))
}

// SendKeys focuses the element matching the CSS selector and types text into
// it, key by key.
func (tab *Tab) SendKeys(sel, text string) {
	tab.t.Helper()
	tab.run(fmt.Sprintf("SendKeys(%q)", sel), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// Text returns the rendered text (innerText) of the first element matching
// the CSS selector, once there is one.
func (tab *Tab) Text(sel string) string {
	tab.t.Helper()
	return runValue(tab, fmt.Sprintf("Text(%q)", sel), chromedp.Text(chromedp.CSS(sel)))
}

// Location returns the URL of the page.
func (tab *Tab) Location() string {
	tab.t.Helper()
	return runValue(tab, "Location()", chromedp.Location())
}

// WaitURLContains waits until the URL of the page contains substr, for example
// after a redirect.
func (tab *Tab) WaitURLContains(substr string) {
	tab.t.Helper()
	deadline := time.Now().Add(tab.Timeout)
	last := "(unknown)"
	for {
		// Reading the location fails while a navigation swaps the document, so an error only means "not yet".
		ctx, cancel := context.WithTimeout(tab.ctx, time.Second)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		cancel()
		if err == nil {
			if strings.Contains(loc, substr) {
				return
			}
			last = loc
		}
		if time.Now().After(deadline) {
			tab.fail(fmt.Sprintf("WaitURLContains(%q)", substr),
				fmt.Errorf("%w: URL is still %s", context.DeadlineExceeded, last))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Eval evaluates the JavaScript expression in the page, waits for it when it
// is a promise, and decodes its JSON value into out; out may be nil to ignore
// it. A thrown exception or rejected promise fails the test.
func (tab *Tab) Eval(js string, out any) {
	tab.t.Helper()
	step := fmt.Sprintf("Eval(%q)", abbreviate(js))
	raw := runValue(tab, step, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if out == nil {
		return
	}
	if raw == nil {
		tab.fail(step, errors.New("the expression has no JSON value (undefined, a function or a DOM object)"))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		tab.fail(step, fmt.Errorf("decoding %s: %w", raw, err))
	}
}

// abbreviate shortens a script for a failure message.
func abbreviate(js string) string {
	js = strings.Join(strings.Fields(js), " ")
	if len(js) > 80 {
		return js[:77] + "..."
	}
	return js
}

// LocalhostURL turns the URL of an httptest server on 127.0.0.1 into the same
// address under the name localhost. Browsers treat http://localhost as a secure
// context, which WebAuthn requires, while http://127.0.0.1 would work for
// everything else but passkeys.
func LocalhostURL(t *testing.T, serverURL string) string {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("LocalhostURL(%q): %v", serverURL, err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Fatalf("LocalhostURL(%q): the server does not listen on 127.0.0.1", serverURL)
	}
	u.Host = "localhost:" + u.Port()
	return u.String()
}
