-- What a GeoIP database said about a device's address, beyond the ASN and location
-- 00006 keeps: the autonomous system's organisation, shown to the approver next to
-- the number, and the country code, which the audit events carry.

-- +goose Up
ALTER TABLE device_requests ADD COLUMN asn_org TEXT NOT NULL DEFAULT '';
ALTER TABLE device_requests ADD COLUMN country TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE device_requests DROP COLUMN country;
ALTER TABLE device_requests DROP COLUMN asn_org;
