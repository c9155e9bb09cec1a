package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/imqtt/imqtt/broker"
)

// errConfig marks configuration errors (exit status 2).
var errConfig = errors.New("config")

const envPrefix = "IMQTT_"

// loadConfig builds the node config: the embedded default when path is empty,
// otherwise DefaultConfig with the YAML file on top; then IMQTT_* variables from
// env on top of that. Unknown keys and bad values are errors naming the key path.
func loadConfig(path string, env []string) (broker.Config, error) {
	var cfg broker.Config
	if path == "" {
		cfg = broker.EmbeddedConfig()
	} else {
		cfg = broker.DefaultConfig()
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("%w: read %s: %w", errConfig, path, err)
		}
		if err := decodeYAML(data, &cfg, path); err != nil {
			return cfg, err
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// decodeYAML decodes data onto cfg strictly: every key must exist and every value
// must fit its field; the error names the file, line and key path.
func decodeYAML(data []byte, cfg *broker.Config, source string) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("%w: %s: %w", errConfig, source, err)
	}
	if root.Kind == 0 { // empty document
		return nil
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		if err := checkNode(root.Content[0], reflect.TypeOf(*cfg), ""); err != nil {
			return fmt.Errorf("%w: %s: %w", errConfig, source, err)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("%w: %s: %w", errConfig, source, err)
	}
	return nil
}

// checkNode walks a YAML node alongside the Go type it will be decoded into and
// reports the first unknown key or ill-typed value with its dotted path and line.
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return decodeCheck(n, t, path)
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			ft, ok := fields[key]
			if !ok {
				return fmt.Errorf("line %d: %s: unknown key", n.Content[i].Line, join(path, key))
			}
			if err := checkNode(val, ft, join(path, key)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return decodeCheck(n, t, path)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkNode(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode || t.Elem().Kind() == reflect.Uint8 {
			return decodeCheck(n, t, path)
		}
		for i, c := range n.Content {
			if err := checkNode(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	return decodeCheck(n, t, path)
}

func decodeCheck(n *yaml.Node, t reflect.Type, path string) error {
	v := reflect.New(t)
	if err := n.Decode(v.Interface()); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "yaml:") {
			msg = msg[i+2:]
		}
		return fmt.Errorf("line %d: %s: bad value %q: %s", n.Line, path, n.Value, msg)
	}
	return nil
}

// yamlFields maps the yaml keys of a struct (with inline embedded structs flattened)
// to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// envPaths lists every settable leaf key path of cfg (map entries included, for
// the maps cfg currently holds) keyed by its IMQTT_ variable name.
func envPaths(cfg *broker.Config) map[string]string {
	out := map[string]string{}
	var walk func(t reflect.Type, v reflect.Value, path string)
	walk = func(t reflect.Type, v reflect.Value, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			for key, ft := range yamlFields(t) {
				var fv reflect.Value
				if v.IsValid() {
					fv = fieldByYAML(v, key)
				}
				walk(ft, fv, join(path, key))
			}
			return
		case reflect.Map:
			if v.IsValid() {
				keys := v.MapKeys()
				sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
				for _, k := range keys {
					walk(t.Elem(), v.MapIndex(k), join(path, k.String()))
				}
			}
			return
		}
		out[envPrefix+strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(path))] = path
	}
	walk(reflect.TypeOf(*cfg), reflect.ValueOf(*cfg), "")
	return out
}

// fieldByYAML finds the value of the field with the given yaml key, looking
// through inline embedded structs.
func fieldByYAML(v reflect.Value, key string) reflect.Value {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(opts, "inline") {
			if r := fieldByYAML(v.Field(i), key); r.IsValid() {
				return r
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key && f.IsExported() {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// applyEnv applies IMQTT_* variables (values are YAML scalars or flow
// collections, e.g. IMQTT_ACL_RULES='["topic read a/#"]').
func applyEnv(cfg *broker.Config, env []string) error {
	paths := envPaths(cfg)
	root := map[string]any{}
	var names []string
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		path, known := paths[name]
		if !known {
			return fmt.Errorf("%w: environment %s: no such config key", errConfig, name)
		}
		var v any
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			return fmt.Errorf("%w: environment %s (%s): %w", errConfig, name, path, err)
		}
		if v == nil {
			v = val
		}
		setPath(root, strings.Split(path, "."), v)
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil
	}
	data, err := yaml.Marshal(root)
	if err != nil {
		return fmt.Errorf("%w: environment: %w", errConfig, err)
	}
	return decodeYAML(data, cfg, "environment "+strings.Join(names, ","))
}

func setPath(m map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
