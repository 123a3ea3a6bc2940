package billing

import _ "embed"

//go:embed schema.graphql
var schemaSDL string

// Schema returns the API's schema in GraphQL SDL, as served by [API].
func Schema() string {
	return schemaSDL
}
