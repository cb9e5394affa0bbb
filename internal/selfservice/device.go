package selfservice

import "strings"

// deviceName guesses "Browser on System" from a User-Agent header, for the session
// list. It only needs to help a person recognise their own devices, so it knows the
// common browsers and systems and falls back to plain words for the rest.
func deviceName(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	browser := "A browser"
	for _, b := range []struct{ needle, name string }{
		// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.needle) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ needle, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
		{"Macintosh", "Mac"}, {"Windows", "Windows"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.needle) {
			system = s.name
			break
		}
	}
	if system == "" {
		if browser == "A browser" {
			return "Unknown device"
		}
		return browser
	}
	return browser + " on " + system
}
