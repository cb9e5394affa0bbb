package recovery

import (
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/notify"
)

// The messages recovery sends. Asking for a code always sends exactly one message to
// the address typed: a code, or a note that says why there is none. The owner of the
// address learns the truth; whoever typed it learns nothing (invariant 6).

func recoveryCodeMail(to, tenantName, code string, ttl time.Duration) notify.Email {
	return notify.Email{To: to, Subject: "Your code to recover your " + tenantName + " account",
		Text: "Someone, probably you, asked to recover the " + tenantName + " account that uses this address. " +
			"Your recovery code is:\n\n    " + code + "\n\n" +
			fmt.Sprintf("The code works once and expires in %s. Nobody from %s will ever ask you for it, not even the help desk: "+
				"if someone calls or writes to ask for it, they are trying to take over your account.\n\n", notify.Minutes(ttl), tenantName) +
			"If you did not ask to recover your account, ignore this email: without the code nothing changes.\n"}
}

func noAccountMail(to, tenantName string) notify.Email {
	return notify.Email{To: to, Subject: "Account recovery request for " + tenantName,
		Text: "Someone asked to recover a " + tenantName + " account with this address, but no account there can be " +
			"recovered with it, so no code was sent.\n\nIf the address is on a locked account, or is not verified yet, " +
			"contact your help desk. If it was not you, you can ignore this email.\n"}
}

func recoveredMail(to, tenantName, passkeyName string, at, holdEnd time.Time, from, link string) notify.Email {
	return notify.Email{To: to, Subject: "Your " + tenantName + " account was recovered",
		Text: "Your " + tenantName + " account was just recovered, and a new passkey named \"" + passkeyName + "\" was added to it.\n\n" +
			"When: " + at.UTC().Format("Mon, 2 Jan 2006 15:04 MST") + "\nFrom: " + from + "\n\n" +
			"Every other session and every application signed in to your account was signed out. Until " + FormatTime(holdEnd) +
			" your account is on hold: the new passkey can sign in, but cannot change your security settings.\n\n" +
			"If this was you, there is nothing to do.\n\n" +
			"If this was NOT you, open this link and confirm. It removes the new passkey, signs everyone out and locks " +
			"the account until an administrator checks it:\n\n    This wasn't me: " + link + "\n\n" +
			"The link works once, until " + FormatTime(holdEnd.Add(RepudiationGrace)) + ".\n"}
}
