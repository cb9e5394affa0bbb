package user

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// ByVerifiedEmail finds the account that holds addr, for the flows that prove control
// of an address by mailing it a code (email sign-in, recovery). usable is false for an
// unknown address, an unverified one, and a locked or disabled account: none of them
// may go on, and callers treat them all alike so the answer reveals nothing
// (DESIGN.md §4 invariant 6).
func ByVerifiedEmail(ctx context.Context, tx store.Tx, tenantID, addr string) (u *store.User, usable bool, err error) {
	u, err = tx.FindUserByIdentifier(ctx, tenantID, store.IdentEmail, addr)
	if errors.Is(err, store.ErrNotFound) {
		// Read as much as for a known address, so that the answer takes as long.
		_, err = tx.ListIdentifiers(ctx, tenantID, "")
		return nil, false, err
	}
	if err != nil {
		return nil, false, err
	}
	ids, err := tx.ListIdentifiers(ctx, tenantID, u.ID)
	if err != nil {
		return nil, false, err
	}
	for _, id := range ids {
		if id.Kind == store.IdentEmail && id.Value == addr {
			return u, id.Verified && u.Status == store.UserActive, nil
		}
	}
	return u, false, nil
}
