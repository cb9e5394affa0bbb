package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFiles embed.FS

// layoutName is the file every page is parsed together with; pages fill its
// "title" and "content" blocks.
const layoutName = "layout.html"

// errorView is the page used for every error response.
const errorView = "error"

// RendererOptions configures NewRenderer.
type RendererOptions struct {
	// Logger receives template and request failures; nil discards them.
	Logger *slog.Logger
	// Assets supplies the URLs of the "static" template function; nil means
	// the assets embedded in this package.
	Assets *Assets
	// Pages lets capability packages contribute their own views. Every
	// *.html file at the root of each file system is one view, named after
	// the file without ".html". It must define a "content" block and may
	// define "title". View names must be unique across all file systems.
	Pages []fs.FS
}

// Renderer executes page templates inside the shared layout. Templates are
// parsed once, at start-up, so a broken template stops the server from
// starting instead of failing in front of a user.
type Renderer struct {
	logger *slog.Logger
	views  map[string]*template.Template
}

// Page is the value every template receives as its dot. Data is what the
// handler passed to Render.
type Page struct {
	RequestID string
	Data      any
}

// ErrorPage is the Data of the error view.
type ErrorPage struct {
	Title   string
	Message string
}

// NewRenderer parses the layout, this package's views and every view in
// opts.Pages. Each view is parsed as its own set (layout plus that one page),
// so two pages defining the same block never overwrite each other.
// It returns an error naming the file if any template fails to parse, a
// view lacks a "content" block, or two views share a name.
func NewRenderer(opts RendererOptions) (*Renderer, error) {
	assets := opts.Assets
	if assets == nil {
		var err error
		if assets, err = NewAssets(); err != nil {
			return nil, err
		}
	}
	own, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	funcs := template.FuncMap{"static": assets.URL}
	base, err := template.New(layoutName).Funcs(funcs).ParseFS(own, layoutName)
	if err != nil {
		return nil, fmt.Errorf("web: parse %s: %w", layoutName, err)
	}
	rd := &Renderer{logger: opts.Logger, views: map[string]*template.Template{}}
	if err := rd.addViews(base, own, true); err != nil {
		return nil, err
	}
	for _, fsys := range opts.Pages {
		if err := rd.addViews(base, fsys, false); err != nil {
			return nil, err
		}
	}
	if _, ok := rd.views[errorView]; !ok {
		return nil, errors.New("web: the error view is missing")
	}
	return rd, nil
}

// addViews parses every page in fsys. hasLayout is true only for this
// package's own templates; anywhere else a layout.html would silently replace
// the shared layout in that page's set, so it is refused.
func (rd *Renderer) addViews(base *template.Template, fsys fs.FS, hasLayout bool) error {
	files, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return fmt.Errorf("web: list views: %w", err)
	}
	for _, file := range files {
		if file == layoutName {
			if hasLayout {
				continue
			}
			return errors.New("web: only the web package may define " + layoutName)
		}
		name := strings.TrimSuffix(path.Base(file), ".html")
		if _, dup := rd.views[name]; dup {
			return fmt.Errorf("web: view %q is defined twice", name)
		}
		t, err := base.Clone()
		if err != nil {
			return fmt.Errorf("web: view %q: %w", name, err)
		}
		if t, err = t.ParseFS(fsys, file); err != nil {
			return fmt.Errorf("web: parse view %q: %w", name, err)
		}
		if t.Lookup("content") == nil {
			return fmt.Errorf("web: view %q defines no content block", name)
		}
		rd.views[name] = t
	}
	return nil
}

// Views returns the names of every view the renderer knows, so wiring tests
// can check that each view a handler uses exists.
func (rd *Renderer) Views() []string {
	names := make([]string, 0, len(rd.views))
	for name := range rd.views {
		names = append(names, name)
	}
	return names
}

// Render executes the view name with data and writes it with the given
// status as text/html. The page is executed into a buffer first, so a
// template failure never sends half a page: instead the error page goes out
// with a 500 and the failure is returned (and logged). An unknown view name
// is treated the same way. Pages are sent with Cache-Control: no-store unless
// the handler set its own, because they often show who is signed in.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	err := rd.write(w, r, status, name, data)
	if err != nil {
		rd.log().ErrorContext(r.Context(), "render failed", requestAttrs(r, slog.String("view", name), slog.Any("error", err))...)
		rd.renderError(w, r, http.StatusInternalServerError, InternalMessage)
	}
	return err
}

func (rd *Renderer) write(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	t, ok := rd.views[name]
	if !ok {
		return fmt.Errorf("web: unknown view %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, layoutName, Page{RequestID: RequestID(r.Context()), Data: data}); err != nil {
		return fmt.Errorf("web: execute view %q: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	// A handler may have announced a length for a body it never wrote.
	h.Del("Content-Length")
	w.WriteHeader(status)
	// A failed write means the client went away; there is no one left to
	// tell, and it is not a template failure.
	_, _ = w.Write(buf.Bytes())
	return nil
}

// renderError writes the error page. It never fails: if the error view
// itself cannot be rendered, or rd is nil, a plain sentence is written.
func (rd *Renderer) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	// An error must never be served again from a cache, whatever the failed
	// handler had planned for its response.
	w.Header().Set("Cache-Control", "no-store")
	if rd != nil {
		err := rd.write(w, r, status, errorView, ErrorPage{Title: errorTitle(status), Message: msg})
		if err == nil {
			return
		}
		rd.log().ErrorContext(r.Context(), "render error page failed", requestAttrs(r, slog.Any("error", err))...)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	if id := RequestID(r.Context()); id != "" {
		msg += " Reference: " + id
	}
	_, _ = fmt.Fprintln(w, msg)
}

// NotFound renders the "We could not find that page." page with status 404.
// Its signature lets it serve as the mux's catch-all handler.
func (rd *Renderer) NotFound(w http.ResponseWriter, r *http.Request) {
	rd.renderError(w, r, http.StatusNotFound, NotFoundMessage)
}

func (rd *Renderer) log() *slog.Logger {
	if rd == nil {
		return orDiscard(nil)
	}
	return orDiscard(rd.logger)
}
