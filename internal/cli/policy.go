package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/tenant"
)

// policyResultJSON is the --json output of `policy set`, the same shape the admin
// API answers a policy change with.
type policyResultJSON struct {
	Policy          tenant.Policy `json:"policy"`
	PreviousVersion int           `json:"previous_version"`
	Changed         bool          `json:"changed"`
	Warnings        []string      `json:"warnings"`
}

func (ce *cmdEnv) policyCmd() *cobra.Command {
	c := groupCmd("policy", "Show and change a tenant's policy")

	show := &cobra.Command{
		Use:   "show",
		Short: "Show a tenant's current policy, one setting a line (--json: the document)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			db, _, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			p, err := (&tenant.Service{Store: db, Now: time.Now}).Policy(c.Context(), ce.tenant)
			if err != nil {
				return userError("tenant "+ce.tenant, err)
			}
			if ce.json {
				return ce.printJSON(p)
			}
			tw := tabwriter.NewWriter(ce.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "version\t%d\n", p.Version)
			for _, s := range flatten(reflect.ValueOf(p), "") {
				fmt.Fprintf(tw, "%s\t%s\n", s[0], s[1])
			}
			return tw.Flush()
		},
	}
	ce.addTenantFlag(show)
	ce.addJSONFlag(show)

	var file string
	set := &cobra.Command{
		Use:   "set [PATH=VALUE]...",
		Short: "Change a tenant's policy: settings like flows.device_code=true, or a whole document with --file",
		Long: "Change a tenant's policy and store it as its next version.\n\n" +
			"Either give settings as PATH=VALUE over the policy document (see `gatehouse policy show`):\n" +
			"  flows.device_code=true  device.proximity=warn  recovery.hold=48h  passkeys.aaguid_allow_list=a,b\n" +
			"or replace the whole document with --file policy.json (fields left out take their secure defaults).\n" +
			"Every change that opens a risk prints a warning on stderr and is recorded in the audit log.",
		RunE: func(c *cobra.Command, args []string) error {
			var edit func(tenant.Policy) (tenant.Policy, error)
			switch {
			case file != "" && len(args) > 0:
				return errors.New("give either --file or PATH=VALUE settings, not both")
			case file != "":
				next, err := readPolicyFile(file)
				if err != nil {
					return err
				}
				edit = func(cur tenant.Policy) (tenant.Policy, error) {
					if next.Version != 0 && next.Version != cur.Version {
						return next, fmt.Errorf("%s is for policy version %d but the tenant is at version %d: "+
							"read it again and reapply your change", file, next.Version, cur.Version)
					}
					return next, nil
				}
			case len(args) > 0:
				settings, err := parseSettings(args)
				if err != nil {
					return err
				}
				edit = func(cur tenant.Policy) (tenant.Policy, error) { return applySettings(cur, settings) }
			default:
				return errors.New("nothing to set: give PATH=VALUE settings (e.g. flows.device_code=true) or --file policy.json")
			}
			db, _, err := ce.openStore(c.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			svc := &tenant.Service{Store: db, Now: time.Now}
			ch, err := svc.ChangePolicy(c.Context(), ce.tenant, edit, ce.cliMeta())
			if err != nil {
				return userError("tenant "+ce.tenant, err)
			}
			for _, w := range ch.Warnings {
				fmt.Fprintln(ce.Stderr, "warning: "+w)
			}
			if ce.json {
				return ce.printJSON(policyResultJSON{Policy: ch.Policy, PreviousVersion: ch.Previous, Changed: ch.Changed,
					Warnings: append([]string{}, ch.Warnings...)})
			}
			if !ch.Changed {
				fmt.Fprintf(ce.Stdout, "policy of tenant %s unchanged at version %d\n", ce.tenant, ch.Policy.Version)
				return nil
			}
			fmt.Fprintf(ce.Stdout, "policy of tenant %s is now version %d (was %d)\n", ce.tenant, ch.Policy.Version, ch.Previous)
			return nil
		},
	}
	set.Flags().StringVar(&file, "file", "", "JSON file holding the whole policy document")
	ce.addTenantFlag(set)
	ce.addJSONFlag(set)

	c.AddCommand(show, set)
	return c
}

func readPolicyFile(path string) (tenant.Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return tenant.Policy{}, fmt.Errorf("--file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return tenant.Policy{}, fmt.Errorf("--file: %w", err)
	}
	if len(b) > 1<<20 {
		return tenant.Policy{}, fmt.Errorf("--file %s: larger than 1 MiB, no policy document is", path)
	}
	p, err := tenant.Parse(b)
	if err != nil {
		return tenant.Policy{}, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "invalid: "))
	}
	return p, nil
}

// setting is one PATH=VALUE argument, its value already in JSON form.
type setting struct {
	path  []string
	value any
}

var (
	policyType   = reflect.TypeFor[tenant.Policy]()
	durationType = reflect.TypeFor[tenant.Duration]()
)

// parseSettings reads PATH=VALUE arguments, checking each path names a setting of
// the policy document and each value fits it, so a typo fails before anything is
// read or written.
func parseSettings(args []string) ([]setting, error) {
	var out []setting
	for _, arg := range args {
		path, raw, ok := strings.Cut(arg, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("%q: want PATH=VALUE, e.g. flows.device_code=true", arg)
		}
		parts := strings.Split(path, ".")
		t, err := settingType(policyType, parts)
		if err != nil {
			return nil, err
		}
		v, err := settingValue(t, raw)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %v", path, raw, err)
		}
		out = append(out, setting{path: parts, value: v})
	}
	return out, nil
}

// settingType returns the type of the field at path, which must be a single setting.
func settingType(t reflect.Type, path []string) (reflect.Type, error) {
	name := strings.Join(path, ".")
	if name == "version" {
		return nil, errors.New("version is assigned when the policy is stored; it cannot be set")
	}
	for i, part := range path {
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByJSONName(t, part)
			if !ok {
				return nil, fmt.Errorf("unknown setting %q (see `gatehouse policy show` for every setting)", name)
			}
			t = f.Type
		case reflect.Map:
			// retirement.<method>: the document check decides which methods exist.
			t = t.Elem()
		default:
			return nil, fmt.Errorf("unknown setting %q: %s is not a section", name, strings.Join(path[:i], "."))
		}
	}
	if t != durationType && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map) {
		return nil, fmt.Errorf("%s is a section, not a setting: name one of its fields", name)
	}
	return t, nil
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// settingValue converts raw to the JSON value of a field of type t.
func settingValue(t reflect.Type, raw string) (any, error) {
	switch {
	case t == durationType:
		if _, err := time.ParseDuration(raw); err != nil {
			return nil, errors.New(`want a duration like "10m" or "48h"`)
		}
		return raw, nil
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, errors.New("want true or false")
		}
		return b, nil
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return nil, errors.New("want a whole number")
		}
		return n, nil
	case t.Kind() == reflect.String:
		return raw, nil
	case t.Kind() == reflect.Slice:
		list := []string{}
		for _, v := range strings.Split(raw, ",") {
			if v = strings.TrimSpace(v); v != "" && !slices.Contains(list, v) {
				list = append(list, v)
			}
		}
		return list, nil
	}
	return nil, errors.New("this setting cannot be set from the command line: use --file")
}

// applySettings writes the settings over cur's document and reads it back with the
// same strict parser as a policy file, so the result is validated as a whole.
func applySettings(cur tenant.Policy, settings []setting) (tenant.Policy, error) {
	b, err := json.Marshal(cur)
	if err != nil {
		return tenant.Policy{}, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return tenant.Policy{}, err
	}
	for _, s := range settings {
		obj := doc
		for _, part := range s.path[:len(s.path)-1] {
			next, ok := obj[part].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[part] = next
			}
			obj = next
		}
		obj[s.path[len(s.path)-1]] = s.value
	}
	if b, err = json.Marshal(doc); err != nil {
		return tenant.Policy{}, err
	}
	return tenant.Parse(b)
}

// flatten lists every setting of the policy value v as PATH, VALUE in the syntax
// `policy set` takes.
func flatten(v reflect.Value, prefix string) [][2]string {
	var out [][2]string
	switch {
	case v.Type() == durationType:
		out = append(out, [2]string{prefix, time.Duration(v.Int()).String()})
	case v.Kind() == reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" || name == "version" {
				continue
			}
			out = append(out, flatten(v.Field(i), join(prefix, name))...)
		}
	case v.Kind() == reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			out = append(out, flatten(v.MapIndex(k), join(prefix, k.String()))...)
		}
	case v.Kind() == reflect.Slice:
		out = append(out, [2]string{prefix, strings.Join(v.Interface().([]string), ",")})
	default:
		out = append(out, [2]string{prefix, fmt.Sprint(v.Interface())})
	}
	return out
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
