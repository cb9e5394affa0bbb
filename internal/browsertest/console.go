package browsertest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
)

// ConsoleErrors returns what went wrong in the page so far, in order: uncaught
// exceptions and unhandled promise rejections, console.error calls, and
// errors of the browser log, which include Content Security Policy violations
// and failed resource loads.
//
// A page test asserts it is empty after the page has shown its outcome; an
// error thrown later, by a timer for example, may not be in it yet. Chromium
// asks every site for /favicon.ico, so a site without one has a 404 here.
func (tab *Tab) ConsoleErrors() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.problems...)
}

// observe records the console errors of the tab. Chromedp calls it on the
// goroutine that reads the tab's messages, before the reply to any later
// command, so an error the page logged is recorded by the time the action
// that caused it returns. It must return quickly and send no command.
func (tab *Tab) observe(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		problem = "exception: " + exceptionText(ev.ExceptionDetails)
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		args := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			args = append(args, remoteText(a))
		}
		problem = "console.error: " + strings.Join(args, " ")
	case *log.EventEntryAdded:
		if ev.Entry == nil || ev.Entry.Level != log.EntryLevelError {
			return
		}
		problem = fmt.Sprintf("log (%s): %s", ev.Entry.Source, ev.Entry.Text)
		if ev.Entry.URL != "" {
			problem += " [" + ev.Entry.URL + "]"
		}
	default:
		return
	}
	tab.mu.Lock()
	defer tab.mu.Unlock()
	tab.problems = append(tab.problems, problem)
}

// exceptionText says what was thrown and where: the protocol's text is often
// only "Uncaught", with the message in the exception object.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "(no details)"
	}
	text := d.Text
	if d.Exception != nil {
		if desc := remoteText(d.Exception); desc != "" {
			// The description of an Error is its stack, whose first line is the message.
			first, _, _ := strings.Cut(desc, "\n")
			text += " " + first
		}
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	}
	return text
}

// remoteText renders a console argument as the DevTools console would, in short.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Type == runtime.RemoteObjectTypeString {
		var s string
		if err := json.Unmarshal(o.Value, &s); err == nil {
			return s
		}
	}
	switch {
	case o.Description != "":
		return o.Description
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	case len(o.Value) > 0:
		return string(o.Value)
	}
	return string(o.Type)
}
