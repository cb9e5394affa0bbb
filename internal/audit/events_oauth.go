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
