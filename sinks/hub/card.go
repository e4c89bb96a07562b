package hub

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Card rules follow the Hub's dataset card metadata (hub-docs datasetcard.md,
// datasets-manual-configuration.md; huggingface_hub DatasetCardData).
var (
	licenseRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*[a-z0-9+]$`)
	languageRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	taskRe     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	splitRe    = regexp.MustCompile(`^\w+(\.\w+)*$`)
	configRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	sizeCats   = map[string]bool{
		"n<1K": true, "1K<n<10K": true, "10K<n<100K": true, "100K<n<1M": true, "1M<n<10M": true,
		"10M<n<100M": true, "100M<n<1B": true, "1B<n<10B": true, "10B<n<100B": true,
		"100B<n<1T": true, "n>1T": true, "other": true,
	}
)

// splitFrontMatter returns the YAML between the leading "---" lines.
func splitFrontMatter(readme []byte) ([]byte, error) {
	s := bytes.ReplaceAll(readme, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(s, []byte("---\n")) {
		return nil, errors.New("README.md does not start with a '---' YAML front matter block")
	}
	rest := s[4:]
	if bytes.HasPrefix(rest, []byte("---\n")) || bytes.Equal(rest, []byte("---")) {
		return nil, errors.New("README.md front matter is empty")
	}
	i := bytes.Index(rest, []byte("\n---\n"))
	if i < 0 {
		if bytes.HasSuffix(rest, []byte("\n---")) {
			i = len(rest) - 4
		} else {
			return nil, errors.New("README.md front matter is not closed by a '---' line")
		}
	}
	return rest[:i+1], nil
}

// ValidateCard checks README.md's front matter against the Hub's rules and
// that every configs data_files pattern matches files of the release
// (repo paths, forward slashes). All problems are reported together.
func ValidateCard(readme []byte, files []string) error {
	fm, err := splitFrontMatter(readme)
	if err != nil {
		return err
	}
	var meta map[string]any
	if err := yaml.Unmarshal(fm, &meta); err != nil {
		return fmt.Errorf("card front matter is not valid YAML: %w", err)
	}
	if meta == nil {
		return errors.New("card front matter must be a YAML mapping")
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	licenses, ok := stringOrList(meta["license"])
	switch {
	case meta["license"] == nil:
		bad("card: license is missing")
	case !ok:
		bad("card: license must be a string or a list of strings")
	}
	for _, l := range licenses {
		if !licenseRe.MatchString(l) {
			bad("card: license %q is not a Hub license id (lowercase, e.g. apache-2.0, cc-by-4.0, other)", l)
		}
		if l == "other" {
			if s, _ := meta["license_name"].(string); s == "" {
				bad("card: license other needs license_name")
			}
		}
	}
	checkList := func(key string, re *regexp.Regexp, allowed map[string]bool) {
		v, present := meta[key]
		if !present {
			return
		}
		items, ok := stringOrList(v)
		if !ok {
			bad("card: %s must be a string or a list of strings", key)
			return
		}
		for _, it := range items {
			if (re != nil && !re.MatchString(it)) || (allowed != nil && !allowed[it]) {
				bad("card: %s: %q is not valid", key, it)
			}
		}
	}
	checkList("language", languageRe, nil)
	checkList("task_categories", taskRe, nil)
	checkList("task_ids", taskRe, nil)
	checkList("size_categories", nil, sizeCats)
	checkList("tags", nil, nil)
	checkList("source_datasets", nil, nil)
	if v, present := meta["pretty_name"]; present {
		if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
			bad("card: pretty_name must be a non-empty string")
		}
	}
	configs := checkConfigs(meta["configs"], files, bad)
	checkDatasetInfo(meta["dataset_info"], configs, bad)
	return errors.Join(errs...)
}

func stringOrList(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			s, ok := it.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// checkConfigs validates the configs list and returns the config names.
func checkConfigs(v any, files []string, bad func(string, ...any)) map[string]bool {
	names := map[string]bool{}
	if v == nil {
		return names
	}
	list, ok := v.([]any)
	if !ok {
		bad("card: configs must be a list")
		return names
	}
	defaults := 0
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			bad("card: configs[%d] must be a mapping", i)
			continue
		}
		name, _ := m["config_name"].(string)
		switch {
		case name == "":
			bad("card: configs[%d]: config_name is required", i)
		case !configRe.MatchString(name):
			bad("card: configs[%d]: config_name %q is not valid", i, name)
		case names[name]:
			bad("card: configs: config_name %q appears twice", name)
		}
		names[name] = true
		if d, present := m["default"]; present {
			if b, ok := d.(bool); !ok {
				bad("card: config %s: default must be true or false", name)
			} else if b {
				defaults++
			}
		}
		dataDir, _ := m["data_dir"].(string)
		df, present := m["data_files"]
		if !present {
			if dataDir == "" {
				bad("card: config %s: data_files is required", name)
			}
			continue
		}
		for _, p := range dataFilePatterns(df, name, bad) {
			if dataDir != "" {
				p = path.Join(dataDir, p)
			}
			if !anyMatch(p, files) {
				bad("card: config %s: data_files %q matches no file of the release", name, p)
			}
		}
	}
	if defaults > 1 {
		bad("card: configs: %d configs are marked default, at most one may be", defaults)
	}
	return names
}

// dataFilePatterns flattens data_files: a string, a list of strings, or a
// list of {split, path: string | list}.
func dataFilePatterns(v any, config string, bad func(string, ...any)) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		bad("card: config %s: data_files must be a path, a list of paths or a list of {split, path}", config)
		return nil
	}
	var out []string
	splits := map[string]bool{}
	for i, it := range list {
		switch x := it.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			split, _ := x["split"].(string)
			if !splitRe.MatchString(split) {
				bad("card: config %s: data_files[%d]: split %q is not valid", config, i, split)
			} else if splits[split] {
				bad("card: config %s: split %q appears twice", config, split)
			}
			splits[split] = true
			ps, ok := stringOrList(x["path"])
			if !ok || len(ps) == 0 {
				bad("card: config %s: data_files[%d]: path must be a string or a list of strings", config, i)
			}
			out = append(out, ps...)
		default:
			bad("card: config %s: data_files[%d] must be a path or {split, path}", config, i)
		}
	}
	return out
}

// anyMatch reports whether glob pattern p (fsspec-style: * within a
// segment, ** across segments) matches one of files.
func anyMatch(p string, files []string) bool {
	for _, f := range files {
		if globMatch(p, f) {
			return true
		}
	}
	return false
}

func globMatch(pattern, name string) bool {
	ps, ns := strings.Split(pattern, "/"), strings.Split(name, "/")
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(ps) {
			return j == len(ns)
		}
		if ps[i] == "**" {
			for k := j; k <= len(ns); k++ {
				if match(i+1, k) {
					return true
				}
			}
			return false
		}
		if j == len(ns) {
			return false
		}
		ok, err := path.Match(ps[i], ns[j])
		return err == nil && ok && match(i+1, j+1)
	}
	return match(0, 0)
}

func checkDatasetInfo(v any, configs map[string]bool, bad func(string, ...any)) {
	if v == nil {
		return
	}
	var infos []any
	switch x := v.(type) {
	case map[string]any:
		infos = []any{x}
	case []any:
		infos = x
	default:
		bad("card: dataset_info must be a mapping or a list")
		return
	}
	for i, it := range infos {
		m, ok := it.(map[string]any)
		if !ok {
			bad("card: dataset_info[%d] must be a mapping", i)
			continue
		}
		if cn, present := m["config_name"]; present {
			s, _ := cn.(string)
			if len(configs) > 0 && !configs[s] {
				bad("card: dataset_info[%d]: config_name %q is not in configs", i, s)
			}
		}
		if f, present := m["features"]; present {
			if _, ok := f.([]any); !ok {
				if _, ok := f.(map[string]any); !ok {
					bad("card: dataset_info[%d]: features must be a list", i)
				}
			}
		}
		if sp, present := m["splits"]; present {
			list, ok := sp.([]any)
			if !ok {
				bad("card: dataset_info[%d]: splits must be a list", i)
				continue
			}
			for _, s := range list {
				sm, _ := s.(map[string]any)
				name, _ := sm["name"].(string)
				if !splitRe.MatchString(name) {
					bad("card: dataset_info[%d]: split name %q is not valid", i, name)
				}
				for _, k := range []string{"num_bytes", "num_examples"} {
					if n, present := sm[k]; present {
						if x, ok := n.(int); !ok || x < 0 {
							bad("card: dataset_info[%d]: split %s: %s must be a non-negative integer", i, name, k)
						}
					}
				}
			}
		}
		for _, k := range []string{"download_size", "dataset_size"} {
			if n, present := m[k]; present {
				if x, ok := n.(int); !ok || x < 0 {
					bad("card: dataset_info[%d]: %s must be a non-negative integer", i, k)
				}
			}
		}
	}
}
