package client

// DescribeScopes says in words what each scope lets an application do, for the
// consent and device approval pages. offline is how to say offline_access where the
// words are shown: an app in the browser "stays signed in", a TV "stays signed in on
// the device".
func DescribeScopes(scopes []string, offline string) []string {
	out := make([]string, 0, len(scopes))
	for _, sc := range scopes {
		switch sc {
		case "openid":
			out = append(out, "Know who you are")
		case "profile":
			out = append(out, "See your name")
		case "email":
			out = append(out, "See your email address")
		case "offline_access":
			out = append(out, offline)
		default:
			out = append(out, "Use "+sc)
		}
	}
	return out
}
