package tenant

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DeviceCodeWarning is shown whenever a tenant turns the device_code flow on. It says
// what client.DeviceCodeWarning says of one client, for the whole tenant.
const DeviceCodeWarning = "flows.device_code enables device-code phishing: an attacker starts a device " +
	"authorization for one of this tenant's clients and lures a user into entering the code and approving it, " +
	"then receives the tokens. Allow the grant only on clients for devices without a browser, keep their " +
	"scopes small, and keep device.proximity at require."

// ReviewPolicy returns the warnings an operator should read before next replaces
// prev: one sentence for every setting the change opens or weakens. A setting that
// was already as weak in prev gives no warning, so re-saving a policy is quiet.
func ReviewPolicy(prev, next Policy) []string {
	var out []string
	add := func(cond bool, w string) {
		if cond {
			out = append(out, w)
		}
	}
	turnedOn := func(was, is bool) bool { return is && !was }

	add(turnedOn(prev.Flows.DeviceCode, next.Flows.DeviceCode), DeviceCodeWarning)
	if next.Device.Proximity != prev.Device.Proximity && proximityRank(next.Device.Proximity) < proximityRank(prev.Device.Proximity) {
		switch next.Device.Proximity {
		case "off":
			out = append(out, "device.proximity is off: a device code approved from another network than the "+
				"device that asked for it is neither refused nor flagged, which is exactly what device-code phishing does")
		case "warn":
			out = append(out, "device.proximity is warn: a device code approved from another network than the "+
				"device that asked for it is only flagged, not refused, so a phished approval still yields tokens")
		}
	}
	if added := newItems(prev.Device.ScopeCeiling, next.Device.ScopeCeiling); len(added) > 0 {
		out = append(out, fmt.Sprintf("device.scope_ceiling now admits %s: a phished device code yields tokens with those scopes",
			strings.Join(added, " ")))
	}
	add(turnedOn(emailCodeSignIn(prev), emailCodeSignIn(next)), "email-code sign-in is on: a one-time code sent by "+
		"email is phishable, so anyone who tricks a user into reading one out gets a session; passkey sign-in stays the "+
		"phishing-resistant way in")
	add(turnedOn(prev.Flows.EmailCodeSignIn, next.Flows.EmailCodeSignIn) && !next.Methods.EmailCode.SignIn,
		"flows.email_code_sign_in has no effect until methods.email_code.sign_in is also true")
	add(turnedOn(prev.Methods.SMS.SignIn, next.Methods.SMS.SignIn), "methods.sms.sign_in is on: SMS codes are "+
		"phished in real time and stolen by SIM swap")
	add(turnedOn(prev.Methods.SMS.Recovery, next.Methods.SMS.Recovery), "methods.sms.recovery is on: whoever takes "+
		"over a user's phone number by SIM swap can recover the account")
	add(turnedOn(prev.Methods.Password.SignIn, next.Methods.Password.SignIn), "methods.password.sign_in is on: "+
		"passwords are phished and reused")
	add(turnedOn(prev.Recovery.PrivilegedSelfService, next.Recovery.PrivilegedSelfService), "recovery.privileged_self_service "+
		"is on: operators and admins can recover their own accounts by email, so an attacker who controls an "+
		"operator's mailbox, or talks one through a recovery, can take over an account that administers the tenant")
	add(turnedOn(!prev.Recovery.TAPPrivilegedTwoPersons, !next.Recovery.TAPPrivilegedTwoPersons), "recovery.tap_privileged_two_person "+
		"is off: one operator alone can issue a working temporary access pass for another operator or admin")
	add(next.Recovery.Hold.D() == 0 && prev.Recovery.Hold.D() != 0, "recovery.hold is 0: credentials enrolled by a "+
		"recovery are trusted at once, so a hijacked recovery leaves the real owner no time to say \"this wasn't me\"")
	return out
}

// proximityRank orders the device proximity modes from weakest to strictest.
func proximityRank(mode string) int { return slices.Index([]string{"off", "warn", "require"}, mode) }

func emailCodeSignIn(p Policy) bool { return p.Flows.EmailCodeSignIn && p.Methods.EmailCode.SignIn }

// newItems returns the values of next that prev does not hold.
func newItems(prev, next []string) []string {
	var out []string
	for _, v := range next {
		if !slices.Contains(prev, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// PolicyChange is the outcome of ChangePolicy.
type PolicyChange struct {
	// Policy is the tenant's policy afterwards, with its version.
	Policy Policy
	// Previous is the version the change was made against.
	Previous int
	// Changed is false when the edit left the document as it was: nothing was stored.
	Changed bool
	// Warnings are ReviewPolicy's sentences for the change, also recorded in the
	// policy.changed audit event.
	Warnings []string
}

// ChangePolicy reads the tenant's current policy, lets edit derive the next one from
// it, validates that, and stores it as the next version with its audit event, all in
// one transaction: two operators editing at once cannot lose each other's change
// (the second writer of a version fails with store.ErrConflict). An edit that changes
// nothing stores nothing. Errors from edit are returned as they are; an invalid
// result wraps ErrInvalid; an unknown tenant is store.ErrNotFound.
func (s *Service) ChangePolicy(ctx context.Context, tenantID string, edit func(cur Policy) (Policy, error), m audit.Meta) (*PolicyChange, error) {
	var out *PolicyChange
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		out = nil
		if _, err := tx.GetTenant(ctx, tenantID); err != nil {
			return fmt.Errorf("tenant %q: %w", tenantID, err)
		}
		cur, err := CurrentPolicy(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		next, err := edit(cur.clone())
		if err != nil {
			return err
		}
		if err := next.Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		out = &PolicyChange{Policy: cur, Previous: cur.Version}
		if same, err := samePolicy(cur, next); err != nil || same {
			return err
		}
		out.Warnings = ReviewPolicy(cur, next)
		v, err := putPolicy(ctx, tx, s.Now(), tenantID, next, m, out.Warnings)
		if err != nil {
			return err
		}
		next.Version = v
		out.Policy, out.Changed = next, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// samePolicy reports whether a and b are the same document, versions aside. An empty
// list and a missing one mean the same, so they compare equal.
func samePolicy(a, b Policy) (bool, error) {
	a, b = a.canonical(), b.canonical()
	ja, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

// canonical returns p without its version and with empty lists as nil.
func (p Policy) canonical() Policy {
	p = p.clone()
	p.Version = 0
	for _, l := range []*[]string{&p.Passkeys.AAGUIDAllowList, &p.Passkeys.Origins, &p.Device.ScopeCeiling} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(p.Retirement) == 0 {
		p.Retirement = nil
	}
	return p
}
