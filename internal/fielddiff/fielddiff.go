// Package fielddiff names the fields in which two JSON-encodable values differ, for error
// messages that say which settings changed (a manifest against a resumed run's, a checkpoint's
// model config against --model).
package fielddiff

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Diffs compares a and b as JSON, leaf by leaf (nested objects by dotted path), and returns
// for each leaf that differs "NAME A LA vs B LB", values as JSON ("(none)" where one side
// lacks the field), in name order. la and lb label the two sides, e.g. "(checkpoint)".
func Diffs(a, b any, la, lb string) []string {
	fa, fb := flat(a), flat(b)
	keys := make([]string, 0, len(fa)+len(fb))
	for k := range fa {
		keys = append(keys, k)
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		if fa[k] != fb[k] {
			diffs = append(diffs, fmt.Sprintf("%s %s %s vs %s %s", k, orNone(fa[k]), la, orNone(fb[k]), lb))
		}
	}
	return diffs
}

// flat returns the leaves of x's JSON encoding by dotted path.
func flat(x any) map[string]string {
	j, _ := json.Marshal(x)
	var v any
	json.Unmarshal(j, &v)
	out := map[string]string{}
	flatten("", v, out)
	return out
}

// flatten puts each leaf of the decoded JSON value v into out, under its dotted path.
func flatten(prefix string, v any, out map[string]string) {
	if m, ok := v.(map[string]any); ok {
		for k, x := range m {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, x, out)
		}
		return
	}
	j, _ := json.Marshal(v)
	out[prefix] = string(j)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
