package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

func (h *Handlers) policyRoutes() []route {
	const path = "/tenants/{tenant}/policy"
	return []route{
		{method: http.MethodGet, path: path, handle: h.getPolicy},
		{method: http.MethodPut, path: path, handle: h.putPolicy},
		{method: http.MethodPatch, path: path, handle: h.patchPolicy},
	}
}

// policyResult answers a change of policy.
type policyResult struct {
	Policy          tenant.Policy `json:"policy"`
	PreviousVersion int           `json:"previous_version"`
	// Changed is false when the document sent was the current one: nothing was stored.
	Changed  bool     `json:"changed"`
	Warnings []string `json:"warnings"`
}

// getPolicy returns the current policy document; its version can be sent back with
// a PUT or PATCH so that the change applies only to that version.
func (h *Handlers) getPolicy(w http.ResponseWriter, r *http.Request, rq *Request) error {
	p, err := h.Tenants.Policy(r.Context(), rq.Tenant.ID)
	if err != nil {
		return err
	}
	h.reply(w, r, http.StatusOK, p)
	return nil
}

// putPolicy replaces the whole document. Fields left out take their secure defaults,
// as in a policy file.
func (h *Handlers) putPolicy(w http.ResponseWriter, r *http.Request, rq *Request) error {
	body, err := readBody(w, r, false)
	if err != nil {
		return err
	}
	next, err := tenant.Parse(body)
	if err != nil {
		return err
	}
	return h.changePolicy(w, r, rq, func(cur tenant.Policy) (tenant.Policy, error) {
		return next, checkVersion(next.Version, cur.Version)
	})
}

// patchPolicy applies a JSON merge patch (RFC 7396) to the current document: members
// of the patch replace those of the document, objects merge, and null removes a
// member, which then takes its secure default.
func (h *Handlers) patchPolicy(w http.ResponseWriter, r *http.Request, rq *Request) error {
	body, err := readBody(w, r, true)
	if err != nil {
		return err
	}
	patch, err := decodeValue(body)
	if err != nil {
		return err
	}
	if err := checkPatchNames(body); err != nil {
		return err
	}
	if _, ok := patch.(map[string]any); !ok {
		return badRequest("a policy patch must be a JSON object")
	}
	return h.changePolicy(w, r, rq, func(cur tenant.Policy) (tenant.Policy, error) {
		doc, err := json.Marshal(cur)
		if err != nil {
			return tenant.Policy{}, err
		}
		target, err := decodeValue(doc)
		if err != nil {
			return tenant.Policy{}, err
		}
		merged, err := json.Marshal(mergePatch(target, patch))
		if err != nil {
			return tenant.Policy{}, err
		}
		next, err := tenant.Parse(merged)
		if err != nil {
			return tenant.Policy{}, err
		}
		return next, checkVersion(next.Version, cur.Version)
	})
}

func (h *Handlers) changePolicy(w http.ResponseWriter, r *http.Request, rq *Request, edit func(tenant.Policy) (tenant.Policy, error)) error {
	ch, err := h.Tenants.ChangePolicy(r.Context(), rq.Tenant.ID, edit, rq.Who.Meta(r))
	if err != nil {
		return err
	}
	warnings := ch.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	h.reply(w, r, http.StatusOK, policyResult{Policy: ch.Policy, PreviousVersion: ch.Previous, Changed: ch.Changed, Warnings: warnings})
	return nil
}

// checkVersion refuses a change made against another version than the current one.
// A document without a version applies to whatever is current.
func checkVersion(sent, current int) error {
	if sent != 0 && sent != current {
		return conflict("the policy is at version %d, not %d: read it again and reapply your change", current, sent)
	}
	return nil
}

// decodeValue decodes one JSON value, keeping numbers exact.
func decodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("unexpected data after the JSON value")
	}
	return v, nil
}

// checkPatchNames refuses member names that decoding into a map would quietly
// resolve: a name given twice in one object (the last would win) and names outside
// the policy's lower-case alphabet, which could only be meant as another field.
func checkPatchNames(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return badRequest("the request body is not valid JSON")
		}
		switch tok {
		case json.Delim('['):
			for dec.More() {
				if err := walk(path); err != nil {
					return err
				}
			}
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return badRequest("the request body is not valid JSON")
				}
				name, _ := tok.(string)
				field := strings.TrimPrefix(path+"."+name, ".")
				if !policyName(name) {
					return badRequest("%s: unknown field", field)
				}
				if seen[name] {
					return badRequest("%s appears more than once", field)
				}
				seen[name] = true
				if err := walk(field); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token()
		return err
	}
	if err := walk(""); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return badRequest("the request body is not valid JSON")
	}
	return nil
}

func policyName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return s != ""
}

// mergePatch applies patch to target as RFC 7396 §2 describes.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}
