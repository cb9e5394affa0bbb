// Package useragent turns a User-Agent header into a few words a person recognises
// ("Safari on Mac"). The header is whatever the other side chose to send, so what is
// shown to people — on pages and in notices — is only ever built from this package's
// own vocabulary: an attacker cannot put a lure ("IT support: safe to approve") in
// front of the person they are phishing. The raw header stays in the audit log.
package useragent

import "strings"

// Unknown is what Describe says when it recognises nothing.
const Unknown = "Unknown device"

// browsers and programs, in the order they are tried: Edge and Opera also say
// "Chrome", Chrome also says "Safari".
var browsers = []struct{ needle, name string }{
	{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	{"curl/", "curl"}, {"Wget/", "Wget"}, {"Go-http-client/", "A Go program"},
	{"python-requests/", "A Python program"}, {"python-httpx/", "A Python program"}, {"Python-urllib/", "A Python program"},
	{"okhttp/", "An Android or Java program"}, {"Java/", "A Java program"}, {"node-fetch", "A Node.js program"},
	{"axios/", "A Node.js program"}, {"PowerShell/", "PowerShell"},
}

var systems = []struct{ needle, name string }{
	{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
	{"Macintosh", "Mac"}, {"Windows", "Windows"}, {"Linux", "Linux"},
}

// Describe guesses "Browser on System" from a User-Agent header. It knows the common
// browsers, systems and command-line programs and says Unknown for the rest.
func Describe(ua string) string {
	browser, system := "", ""
	for _, b := range browsers {
		if strings.Contains(ua, b.needle) {
			browser = b.name
			break
		}
	}
	for _, s := range systems {
		if strings.Contains(ua, s.needle) {
			system = s.name
			break
		}
	}
	switch {
	case browser == "" && system == "":
		return Unknown
	case system == "":
		return browser
	case browser == "":
		return "A browser on " + system
	}
	return browser + " on " + system
}
