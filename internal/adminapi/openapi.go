package adminapi

import (
	_ "embed"
	"net/http"
)

// openAPI is the hand-written OpenAPI 3.1 description of every route; a test keeps
// it and the mounted routes in step.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3.1 document.
func OpenAPI() []byte { return openAPI }

func (h *Handlers) docRoutes() []route {
	return []route{{method: http.MethodGet, path: "/openapi.json", handle: h.openAPI, public: true}}
}

// openAPI serves the description without credentials: it is the same for every
// installation and says nothing about this one.
func (h *Handlers) openAPI(w http.ResponseWriter, r *http.Request, _ *Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	// A failed write means the caller went away; there is no one left to tell.
	_, _ = w.Write(openAPI)
	return nil
}
