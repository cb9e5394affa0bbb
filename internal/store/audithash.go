package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// ChainHash computes the event's hash over every field an attacker might alter,
// including its sequence number and the previous event's hash, so that editing,
// deleting or reordering a row breaks the chain from that row on.
func (e *AuditEvent) ChainHash() string {
	// A fixed struct keeps the encoding canonical: field order is the struct order and
	// time is reduced to the microseconds the database keeps.
	canon := struct {
		TenantID   string          `json:"tenant"`
		Seq        int64           `json:"seq"`
		ID         string          `json:"id"`
		Type       string          `json:"type"`
		OccurredAt int64           `json:"at"`
		ActorType  string          `json:"actor_type"`
		ActorID    string          `json:"actor"`
		TargetType string          `json:"target_type"`
		TargetID   string          `json:"target"`
		IP         string          `json:"ip"`
		Network    string          `json:"network"`
		UserAgent  string          `json:"ua"`
		SessionID  string          `json:"session"`
		Flow       string          `json:"flow"`
		Result     string          `json:"result"`
		Severity   string          `json:"severity"`
		Details    json.RawMessage `json:"details"`
		PrevHash   string          `json:"prev"`
	}{
		e.TenantID, e.Seq, e.ID, e.Type, e.OccurredAt.UnixMicro(), e.ActorType, e.ActorID,
		e.TargetType, e.TargetID, e.IP, e.Network, e.UserAgent, e.SessionID, e.Flow,
		e.Result, e.Severity, normalizeDetails(e.Details), e.PrevHash,
	}
	b, err := json.Marshal(canon)
	if err != nil {
		// Details were validated as JSON on append; reaching here means a corrupt row,
		// which must not verify.
		return "invalid"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func normalizeDetails(d []byte) json.RawMessage {
	if len(d) == 0 {
		return json.RawMessage("{}")
	}
	return json.RawMessage(d)
}

// Micro truncates t to the microsecond precision that every backend stores.
func Micro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}
