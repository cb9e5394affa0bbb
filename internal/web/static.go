package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"
)

//go:embed static
var staticFiles embed.FS

// StaticPattern is the route static assets are served on. The hash segment
// changes whenever a file's content does, which is what makes it safe to let
// browsers cache each URL forever.
const StaticPattern = "GET /static/{hash}/{name...}"

// Assets holds the embedded static files, each under a content-hashed URL.
type Assets struct {
	files map[string]asset
}

type asset struct {
	hash        string
	body        []byte
	contentType string
}

// NewAssets loads this package's static files plus every file in extra, so a
// capability can ship its own script or image. Names are paths relative to
// each file system's root and must be unique across all of them.
func NewAssets(extra ...fs.FS) (*Assets, error) {
	own, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	a := &Assets{files: map[string]asset{}}
	for _, fsys := range append([]fs.FS{own}, extra...) {
		if err := a.add(fsys); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a *Assets) add(fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, dup := a.files[name]; dup {
			return fmt.Errorf("web: static file %q is defined twice", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("web: read static file %q: %w", name, err)
		}
		sum := sha256.Sum256(body)
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.files[name] = asset{hash: hex.EncodeToString(sum[:8]), body: body, contentType: ctype}
		return nil
	})
}

// URL returns the content-hashed URL of the named asset, for example
// "/static/3f2a…/app.css". It fails for an unknown name, which makes a
// template that references a missing file fail to render instead of
// producing a page with a broken link.
func (a *Assets) URL(name string) (string, error) {
	f, ok := a.files[name]
	if !ok {
		return "", fmt.Errorf("web: unknown static file %q", name)
	}
	return "/static/" + f.hash + "/" + name, nil
}

// Mount registers the asset handler on mux at StaticPattern.
func (a *Assets) Mount(mux *http.ServeMux) {
	mux.HandleFunc(StaticPattern, a.serve)
}

// serve answers only the current hash of a file. An old or guessed hash is a
// 404 rather than the current content, because an immutable cache entry must
// never hold anything but the bytes that hash names.
func (a *Assets) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[r.PathValue("name")]
	if !ok || f.hash != r.PathValue("hash") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+f.hash+`"`)
	// ServeContent answers HEAD, ranges and If-None-Match revalidation.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
