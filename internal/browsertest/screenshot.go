package browsertest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chromedp/chromedp"
)

// ScreenshotDirEnv names the directory for screenshots, to collect them as
// artifacts. Give an absolute path: go test runs each package in its own
// directory. Without it each test process makes a temporary directory and
// leaves it behind for a person to look at.
const ScreenshotDirEnv = "GATEHOUSE_SCREENSHOT_DIR"

// shots is the screenshot directory of this test process. It is the one piece
// of package state: every Browser of every test in the process writes to the
// same directory, and numbers its files per test.
var shots struct {
	once sync.Once
	dir  string
	err  error

	mu     sync.Mutex
	counts map[string]int // screenshots taken so far, by file-name prefix
}

// Screenshot saves a PNG of the whole page as <TestName>-<nn>-<name>.png in the
// screenshot directory, logs its path and returns it. Names are sanitised to
// letters, digits, dots, dashes and underscores; nn counts the screenshots of
// the test, failure screenshots included.
func (tab *Tab) Screenshot(name string) string {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, tab.Timeout)
	defer cancel()
	path, err := tab.saveScreenshot(ctx, name)
	if err != nil {
		tab.t.Fatalf("browser: Screenshot(%q): %v", name, err)
	}
	return path
}

// saveScreenshot writes the screenshot and returns its path.
func (tab *Tab) saveScreenshot(ctx context.Context, name string) (string, error) {
	tab.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 is PNG
	if err != nil {
		return "", err
	}
	dir, first, err := screenshotDir()
	if err != nil {
		return "", err
	}
	if first {
		tab.t.Logf("screenshots of this test process are in %s", dir)
	}
	prefix := sanitize(tab.t.Name())
	shots.mu.Lock()
	if shots.counts == nil {
		shots.counts = make(map[string]int)
	}
	shots.counts[prefix]++
	n := shots.counts[prefix]
	shots.mu.Unlock()

	path, err := writeNew(dir, fmt.Sprintf("%s-%02d-%s", prefix, n, sanitize(name)), png)
	if err != nil {
		return "", err
	}
	tab.t.Logf("screenshot: %s", path)
	return path, nil
}

// screenshotDir returns the directory of this process, and whether this call
// made that choice, so that the directory is logged once.
func screenshotDir() (dir string, first bool, err error) {
	shots.once.Do(func() {
		first = true
		if d := os.Getenv(ScreenshotDirEnv); d != "" {
			shots.dir, shots.err = d, os.MkdirAll(d, 0o755)
			return
		}
		// Not t.TempDir: the files must outlive the test for a person to see them.
		shots.dir, shots.err = os.MkdirTemp("", "gatehouse-screenshots-")
	})
	return shots.dir, first, shots.err
}

// writeNew writes data to base.png in dir, or to base-2.png and so on when a
// test of the same name in another package got there first, as happens when
// several test processes share GATEHOUSE_SCREENSHOT_DIR.
func writeNew(dir, base string, data []byte) (string, error) {
	for i := 1; ; i++ {
		name := base + ".png"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.png", base, i)
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) && i < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return path, err
	}
}

// sanitize keeps letters, digits, dots, dashes and underscores, so a subtest
// name or a caption becomes a portable file name.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	s = strings.Trim(s, ".")
	if s == "" {
		return "_"
	}
	return s
}
