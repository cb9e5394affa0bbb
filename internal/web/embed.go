package web

import "io/fs"

// Embedded returns the directory dir of an embedded file system, for
// RendererOptions.Pages and NewAssets. It panics when dir is missing: the caller
// embeds that directory itself, so a missing one is a build mistake, never a
// condition at run time.
func Embedded(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
