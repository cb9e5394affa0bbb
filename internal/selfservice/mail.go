package selfservice

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/secret"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The messages these pages send. Every flow that must not reveal whether an address
// has an account sends exactly one message either way: a code, or a note that says
// why there is none. The person who owns the address learns the truth; whoever typed
// it into the page learns nothing.

const codeFooter = "\nThe code works once and expires in %s. Nobody from %s will ever ask you for it: " +
	"if someone does, do not give it to them.\n"

func codeText(intro, code, tenantName string, ttl time.Duration) string {
	return intro + "\n\n    " + code + "\n" + fmt.Sprintf(codeFooter, notify.Minutes(ttl), tenantName)
}

func signInCodeMail(to, tenantName, code string, ttl time.Duration) notify.Email {
	return notify.Email{To: to, Subject: "Your sign-in code for " + tenantName,
		Text: codeText("Your code to sign in to "+tenantName+" is:", code, tenantName, ttl) +
			"\nIf you did not ask to sign in, you can ignore this email.\n"}
}

func noAccountSignInMail(to, tenantName, signUpURL string) notify.Email {
	text := "Someone asked for a code to sign in to " + tenantName + " with this address, but no account there " +
		"can sign in with it by email, so no code was sent.\n"
	if signUpURL != "" {
		text += "\nIf you meant to create an account, you can do that here: " + signUpURL + "\n"
	}
	text += "\nIf it was not you, you can ignore this email.\n"
	return notify.Email{To: to, Subject: "Sign-in request for " + tenantName, Text: text}
}

func signUpCodeMail(to, tenantName, code string, ttl time.Duration) notify.Email {
	return notify.Email{To: to, Subject: "Your code to create an account at " + tenantName,
		Text: codeText("Your code to create an account at "+tenantName+" is:", code, tenantName, ttl) +
			"\nIf you did not ask to create an account, you can ignore this email: without the code, none is made.\n"}
}

func existingAccountMail(to, tenantName, signInURL string) notify.Email {
	return notify.Email{To: to, Subject: "You already have an account at " + tenantName,
		Text: "Someone, probably you, asked to create an account at " + tenantName + " with this address. " +
			"You already have one, so nothing was created and no code was sent.\n\n" +
			"Sign in instead: " + signInURL + "\n\nIf it was not you, you can ignore this email.\n"}
}

func verifyEmailCodeMail(to, tenantName, code string, ttl time.Duration) notify.Email {
	return notify.Email{To: to, Subject: "Confirm your email address for " + tenantName,
		Text: codeText("Enter this code on your account page to add this address to your "+tenantName+" account:", code, tenantName, ttl) +
			"\nIf you did not ask for this, you can ignore this email: without the code, the address is not added.\n"}
}

func emailTakenMail(to, tenantName string) notify.Email {
	return notify.Email{To: to, Subject: "Someone tried to add your email address at " + tenantName,
		Text: "Someone asked to add this address to another account at " + tenantName + ". It stays with your " +
			"account: nothing changed and no code was sent.\n\nIf it was you, sign in to the account that already " +
			"uses this address instead.\n"}
}

// queue adds one message to the outbox inside tx under a fresh idempotency key.
func queue(ctx context.Context, tx store.Tx, tenantID, kind string, e notify.Email, now time.Time) error {
	return notify.QueueEmail(ctx, tx, tenantID, "selfservice:"+kind+":"+secret.ID(), e, now)
}
