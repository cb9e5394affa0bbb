package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Break describes the first place where a tenant's chain does not verify.
type Break struct {
	TenantID string `json:"tenant"`
	Seq      int64  `json:"seq"`
	EventID  string `json:"event_id,omitempty"`
	Reason   string `json:"reason"`
}

func (b *Break) String() string {
	if b.EventID == "" {
		return fmt.Sprintf("tenant %s: event #%d: %s", b.TenantID, b.Seq, b.Reason)
	}
	return fmt.Sprintf("tenant %s: event #%d %s: %s", b.TenantID, b.Seq, b.EventID, b.Reason)
}

const pageSize = 1000

// Verify walks the tenant's chain from the first event and returns the first broken
// link, or nil when every event hashes correctly, links to its predecessor, the
// sequence has no gaps and the head matches the last event (so deleting the newest
// rows is detected too). It also returns how many events it checked.
func Verify(ctx context.Context, s store.Store, tenantID string) (*Break, int64, error) {
	var (
		prevHash string
		nextSeq  int64 = 1
		checked  int64
	)
	for {
		var page []store.AuditEvent
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.QueryAudit(ctx, store.AuditQuery{TenantID: tenantID, AfterSeq: nextSeq - 1, Limit: pageSize})
			return err
		})
		if err != nil {
			return nil, checked, err
		}
		for i := range page {
			e := &page[i]
			switch {
			case e.Seq != nextSeq:
				return &Break{tenantID, nextSeq, "", fmt.Sprintf("event is missing (next stored event is #%d)", e.Seq)}, checked, nil
			case e.PrevHash != prevHash:
				return &Break{tenantID, e.Seq, e.ID, "does not link to the previous event's hash"}, checked, nil
			case e.ChainHash() != e.Hash:
				return &Break{tenantID, e.Seq, e.ID, "contents do not match the stored hash (altered)"}, checked, nil
			}
			prevHash = e.Hash
			nextSeq++
			checked++
		}
		if len(page) < pageSize {
			break
		}
	}
	var headSeq int64
	var headHash string
	err := s.View(ctx, func(tx store.Tx) error {
		var err error
		headSeq, headHash, err = tx.AuditHead(ctx, tenantID)
		return err
	})
	if err != nil {
		return nil, checked, err
	}
	stored := nextSeq - 1
	switch {
	case headSeq > stored:
		return &Break{tenantID, headSeq, "", fmt.Sprintf("the chain head records %d events but %d are stored (the newest events were deleted)", headSeq, stored)}, checked, nil
	case headSeq < stored:
		return &Break{tenantID, headSeq, "", fmt.Sprintf("the chain head records %d events but %d are stored (the head was rewound or events were added around it)", headSeq, stored)}, checked, nil
	case headHash != prevHash:
		return &Break{tenantID, headSeq, "", "the chain head's hash does not match the newest event (the head or the newest event was replaced)"}, checked, nil
	}
	return nil, checked, nil
}

// ExportRecord is the JSON-lines form of an event.
type ExportRecord struct {
	Tenant     string          `json:"tenant"`
	Seq        int64           `json:"seq"`
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Time       time.Time       `json:"time"`
	ActorType  string          `json:"actor_type,omitempty"`
	Actor      string          `json:"actor,omitempty"`
	TargetType string          `json:"target_type,omitempty"`
	Target     string          `json:"target,omitempty"`
	IP         string          `json:"ip,omitempty"`
	Network    string          `json:"network,omitempty"`
	UserAgent  string          `json:"user_agent,omitempty"`
	Session    string          `json:"session,omitempty"`
	Flow       string          `json:"flow,omitempty"`
	Result     string          `json:"result"`
	Severity   string          `json:"severity"`
	Details    json.RawMessage `json:"details"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// ToRecord converts a stored event to its export form.
func ToRecord(e *store.AuditEvent) ExportRecord {
	return ExportRecord{
		Tenant: e.TenantID, Seq: e.Seq, ID: e.ID, Type: e.Type, Time: e.OccurredAt,
		ActorType: e.ActorType, Actor: e.ActorID, TargetType: e.TargetType, Target: e.TargetID,
		IP: e.IP, Network: e.Network, UserAgent: e.UserAgent, Session: e.SessionID, Flow: e.Flow,
		Result: e.Result, Severity: e.Severity, Details: json.RawMessage(e.Details),
		PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// Export writes the events matching q as JSON lines, tenant by tenant in chain
// order, and returns how many it wrote. An empty q.TenantID exports every tenant.
func Export(ctx context.Context, s store.Store, w io.Writer, q store.AuditQuery) (int, error) {
	tenants := []string{q.TenantID}
	if q.TenantID == "" {
		var list []store.Tenant
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			list, err = tx.ListTenants(ctx)
			return err
		})
		if err != nil {
			return 0, err
		}
		tenants = tenants[:0]
		for _, t := range list {
			tenants = append(tenants, t.ID)
		}
	}
	enc := json.NewEncoder(w)
	n := 0
	for _, tenantID := range tenants {
		tq := q
		tq.TenantID, tq.Limit, tq.Newest, tq.AfterSeq = tenantID, pageSize, false, 0
		for {
			var page []store.AuditEvent
			err := s.View(ctx, func(tx store.Tx) error {
				var err error
				page, err = tx.QueryAudit(ctx, tq)
				return err
			})
			if err != nil {
				return n, err
			}
			for i := range page {
				if err := enc.Encode(ToRecord(&page[i])); err != nil {
					return n, err
				}
				n++
			}
			if len(page) < pageSize {
				break
			}
			tq.AfterSeq = page[len(page)-1].Seq
		}
	}
	return n, nil
}
