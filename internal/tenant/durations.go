package tenant

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// durationPaths lists the JSON paths ("recovery.hold") of every Duration in Policy.
func durationPaths() []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	durType := reflect.TypeOf(Duration(0))
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			switch {
			case f.Type == durType:
				out = append(out, prefix+name)
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, prefix+name+".")
			}
		}
	}
	walk(reflect.TypeOf(Policy{}), "")
	return out
}

// badDuration returns the path of the first duration in doc that is present but not
// a string time.ParseDuration accepts, or "".
func badDuration(doc []byte) string {
	var m map[string]any
	if json.Unmarshal(doc, &m) != nil {
		return ""
	}
	for _, path := range durationPaths() {
		var v any = m
		present := true
		for _, part := range strings.Split(path, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				present = false
				break
			}
			if v, ok = obj[part]; !ok {
				present = false
				break
			}
		}
		if !present {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return path
		}
		if _, err := time.ParseDuration(s); err != nil {
			return path
		}
	}
	return ""
}
