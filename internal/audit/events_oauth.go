package audit

// Event types of the OAuth provider's groundwork: signing keys and clients.
const (
	KeyCreated          = "key.created"
	KeyRotated          = "key.rotated"
	ClientCreated       = "client.created"
	ClientUpdated       = "client.updated"
	ClientDeleted       = "client.deleted"
	ClientSecretRotated = "client.secret_rotated"
)

// Event types of the OAuth provider's flows: consent, authorization codes, tokens and
// sign-out.
const (
	OAuthConsentGranted = "oauth.consent_granted"
	OAuthConsentDenied  = "oauth.consent_denied"
	OAuthConsentRevoked = "oauth.consent_revoked"
	OAuthCodeIssued     = "oauth.code_issued"
	OAuthCodeReused     = "oauth.code_reused"
	OAuthTokenIssued    = "oauth.token_issued"
	OAuthTokenRefreshed = "oauth.token_refreshed"
	OAuthRefreshReused  = "oauth.refresh_reused"
	OAuthTokenRevoked   = "oauth.token_revoked"
	OAuthLogout         = "oauth.logout"
	OAuthClientAuthFail = "oauth.client_auth_failed"
)
