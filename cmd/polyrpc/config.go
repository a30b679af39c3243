package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/polyrpc/polyrpc/guard/ratelimit"
)

// configKey ties a key of the TOML config file to the flag it sets.
type configKey struct {
	key  string // dotted: a table and a key, as in [http] port = 8545
	flag string
	kind byte // 'b' bool, 'i' integer, 's' string, 'l' list of strings
}

// configKeys lists every key a config file may hold: the same settings as the flags.
var configKeys = []configKey{
	{"http.enabled", "http", 'b'},
	{"http.addr", "http.addr", 's'},
	{"http.port", "http.port", 'i'},
	{"http.api", "http.api", 'l'},
	{"http.corsdomain", "http.corsdomain", 'l'},
	{"http.vhosts", "http.vhosts", 'l'},
	{"http.trustedproxies", "http.trustedproxies", 'l'},
	{"ws.enabled", "ws", 'b'},
	{"ws.addr", "ws.addr", 's'},
	{"ws.port", "ws.port", 'i'},
	{"ws.api", "ws.api", 'l'},
	{"ws.origins", "ws.origins", 'l'},
	{"ipc.path", "ipcpath", 's'},
	{"ipc.disable", "ipcdisable", 'b'},
	{"log.verbosity", "verbosity", 'i'},
	{"log.format", "log.format", 's'},
	{"broker.url", "broker", 's'},
	{"node.name", "node.name", 's'},
	{"chat.retain", "chat.retain", 'i'},
	{"chat.rooms", "chat.rooms", 'i'},
	{"chat.maxage", "chat.maxage", 's'},
	{"metrics.enabled", "metrics", 'b'},
	{"metrics.addr", "metrics.addr", 's'},
	{"metrics.port", "metrics.port", 'i'},
	{"dev.testservice", "dev.testservice", 'b'},
	{"dev.debug", "dev.debug", 'b'},
	{"dev.nobuiltins", "dev.nobuiltins", 'b'},
	{"authrpc.addr", "authrpc.addr", 's'},
	{"authrpc.port", "authrpc.port", 'i'},
	{"authrpc.jwtsecret", "authrpc.jwtsecret", 's'},
	{"authrpc.vhosts", "authrpc.vhosts", 'l'},
	{"authrpc.api", "authrpc.api", 'l'},
	{"tls.cert", "tls.cert", 's'},
	{"tls.key", "tls.key", 's'},
	{"tls.clientca", "tls.clientca", 's'},
}

// applyConfigFile sets the flags of fs from the TOML file at path, except those given on the
// command line (flags win over the file), and *limits from its [[limits]] tables. It returns,
// for each flag it set, the name to use for it in messages ("http.port in FILE"). Unknown keys
// and values of the wrong type are errors naming the key.
func applyConfigFile(fs *flag.FlagSet, path string, limits *[]ratelimit.Rule) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("config %s: line %d: %s", path, perr.Position.Line, perr.Message)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if v, ok := doc["limits"]; ok {
		if *limits, err = parseLimits(path, v); err != nil {
			return nil, err
		}
		delete(doc, "limits")
	}
	values := map[string]any{}
	flatten("", doc, values)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	names := map[string]string{}
	for _, k := range keys {
		i := slices.IndexFunc(configKeys, func(ck configKey) bool { return ck.key == k })
		if i < 0 {
			return nil, fmt.Errorf("config %s: unknown key %q (known keys: %s)", path, k, knownKeys())
		}
		ck := configKeys[i]
		s, err := ck.format(values[k])
		if err != nil {
			return nil, fmt.Errorf("config %s: key %s: %v", path, k, err)
		}
		if onCommandLine[ck.flag] {
			continue
		}
		if err := fs.Set(ck.flag, s); err != nil {
			return nil, fmt.Errorf("config %s: key %s: invalid value %q", path, k, s)
		}
		names[ck.flag] = k + " in " + path
	}
	return names, nil
}

// flatten collects the leaves of a decoded TOML document under their dotted keys.
func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(k, sub, out)
			continue
		}
		out[k] = v
	}
}

// format checks that v has the key's type and returns it as a flag value.
func (ck configKey) format(v any) (string, error) {
	switch ck.kind {
	case 'b':
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return "", fmt.Errorf("want true or false, got %s", tomlType(v))
	case 'i':
		if n, ok := v.(int64); ok {
			return strconv.FormatInt(n, 10), nil
		}
		return "", fmt.Errorf("want an integer, got %s", tomlType(v))
	case 's':
		if s, ok := v.(string); ok {
			return s, nil
		}
		return "", fmt.Errorf("want a string, got %s", tomlType(v))
	}
	// A list: an array of strings, or one comma-separated string.
	switch l := v.(type) {
	case string:
		return l, nil
	case []any:
		items := make([]string, len(l))
		for i, e := range l {
			s, ok := e.(string)
			if !ok || strings.Contains(s, ",") {
				return "", fmt.Errorf("item %d: want a string without commas, got %s", i, tomlType(e))
			}
			items[i] = s
		}
		return strings.Join(items, ","), nil
	}
	return "", fmt.Errorf("want an array of strings, got %s", tomlType(v))
}

func tomlType(v any) string {
	switch v := v.(type) {
	case bool:
		return "a boolean"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case string:
		return strconv.Quote(v)
	case []any, []map[string]any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

func knownKeys() string {
	var ks []string
	for _, ck := range configKeys {
		ks = append(ks, ck.key)
	}
	return strings.Join(ks, ", ")
}
