package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const deviceCols = `device_hash, user_hash, tenant_id, client_id, scope, ip, network, asn, location, user_agent,
	created_at, expires_at, interval_ms, status, user_id, session_id, auth_time, acr, amr, decided_at,
	decided_ip, decided_network, redeemed_at, asn_org, country`

func scanDevice(s scanner) (*store.DeviceRequest, error) {
	var d store.DeviceRequest
	var amr string
	var asn, created, expires, interval, authTime, decided, redeemed int64
	err := s.Scan(&d.DeviceHash, &d.UserHash, &d.TenantID, &d.ClientID, &d.Scope, &d.IP, &d.Network, &asn, &d.Location,
		&d.UserAgent, &created, &expires, &interval, &d.Status, &d.UserID, &d.SessionID, &authTime, &d.ACR, &amr,
		&decided, &d.DecidedIP, &d.DecidedNetwork, &redeemed, &d.ASNOrg, &d.Country)
	if err != nil {
		return nil, err
	}
	d.ASN = uint32(asn)
	d.Interval = time.Duration(interval) * time.Millisecond
	d.AMR = splitList(amr)
	d.CreatedAt, d.ExpiresAt, d.AuthTime = fromMicros(created), fromMicros(expires), fromMicros(authTime)
	d.DecidedAt, d.RedeemedAt = fromMicros(decided), fromMicros(redeemed)
	return &d, nil
}

func (t *tx) CreateDeviceRequest(ctx context.Context, d *store.DeviceRequest) error {
	// A new request is always pending and undecided, whatever the caller filled in.
	return t.insertUnique(ctx, `INSERT INTO device_requests (`+deviceCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', 0, '', '', 0, '', '', 0, ?, ?)`,
		d.DeviceHash, d.UserHash, d.TenantID, d.ClientID, d.Scope, d.IP, d.Network, int64(d.ASN), d.Location,
		d.UserAgent, micros(d.CreatedAt), micros(d.ExpiresAt), d.Interval.Milliseconds(), store.DevicePending,
		d.ASNOrg, d.Country)
}

func (t *tx) GetDeviceRequest(ctx context.Context, tenantID, deviceHash string) (*store.DeviceRequest, error) {
	d, err := scanDevice(t.queryRow(ctx, `SELECT `+deviceCols+` FROM device_requests
		WHERE device_hash = ? AND tenant_id = ?`, deviceHash, tenantID))
	return d, t.db.classify(err)
}

func (t *tx) FindDeviceRequest(ctx context.Context, tenantID, userHash string) (*store.DeviceRequest, error) {
	d, err := scanDevice(t.queryRow(ctx, `SELECT `+deviceCols+` FROM device_requests
		WHERE tenant_id = ? AND user_hash = ?`, tenantID, userHash))
	return d, t.db.classify(err)
}

func (t *tx) DecideDeviceRequest(ctx context.Context, tenantID, deviceHash string, d store.DeviceDecision) error {
	// The status condition is the whole race: the first decision moves the request out
	// of pending and every later one, on any node, matches nothing.
	return affected(t.exec(ctx, `UPDATE device_requests SET status = ?, user_id = ?, session_id = ?, auth_time = ?,
		acr = ?, amr = ?, decided_at = ?, decided_ip = ?, decided_network = ?
		WHERE device_hash = ? AND tenant_id = ? AND status = ? AND expires_at > ?`,
		d.Status, d.UserID, d.SessionID, micros(d.AuthTime), d.ACR, joinList(d.AMR), micros(d.At), d.IP, d.Network,
		deviceHash, tenantID, store.DevicePending, micros(d.At)))
}

func (t *tx) RedeemDeviceRequest(ctx context.Context, tenantID, deviceHash string, now time.Time) (*store.DeviceRequest, error) {
	d, err := scanDevice(t.queryRow(ctx, `UPDATE device_requests SET status = ?, redeemed_at = ?
		WHERE device_hash = ? AND tenant_id = ? AND status = ? AND expires_at > ?
		RETURNING `+deviceCols, store.DeviceRedeemed, micros(now), deviceHash, tenantID, store.DeviceApproved, micros(now)))
	return d, t.db.classify(err)
}

func (t *tx) ExpireDeviceRequest(ctx context.Context, tenantID, deviceHash string, now time.Time) error {
	return affected(t.exec(ctx, `UPDATE device_requests SET status = ?
		WHERE device_hash = ? AND tenant_id = ? AND status IN (?, ?) AND expires_at <= ?`,
		store.DeviceExpired, deviceHash, tenantID, store.DevicePending, store.DeviceApproved, micros(now)))
}

// deviceFlow is the auth_flow of the grants device requests turn into.
const deviceFlow = "device_code"

func (t *tx) RevokeFlowGrants(ctx context.Context, tenantID, userID, flow string, at time.Time, reason string) (int, error) {
	res, err := t.exec(ctx, `UPDATE oauth_grants SET revoked_at = ?, revoke_reason = ?
		WHERE tenant_id = ? AND user_id = ? AND auth_flow = ? AND revoked_at = 0`, micros(at), reason, tenantID, userID, flow)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil || flow != deviceFlow {
		return int(n), err
	}
	// An approval the device has not redeemed yet is a token family about to exist: a
	// revoke run because an approval was phished must stop it too, or the attacker's
	// next poll gets tokens. Its device is told access_denied.
	res, err = t.exec(ctx, `UPDATE device_requests SET status = ?
		WHERE tenant_id = ? AND user_id = ? AND status = ?`, store.DeviceDenied, tenantID, userID, store.DeviceApproved)
	if err != nil {
		return 0, err
	}
	m, err := res.RowsAffected()
	return int(n + m), err
}
