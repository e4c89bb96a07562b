package repos

import (
	"regexp"
	"strings"
)

var (
	spdxRe      = regexp.MustCompile(`SPDX-License-Identifier:\s*([A-Za-z0-9.+-]+)`)
	copyrightRe = regexp.MustCompile(`(?mi)^[\s/*#!-]*(copyright\b[^\n]*?)\s*(\*/)?\s*$`)
)

// licenseFiles are the names looked for at the project and repository root.
var licenseFiles = []string{"LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING", "license.txt"}

// spdxOf returns the SPDX id a file declares in its head, or "".
func spdxOf(head []byte) string {
	if len(head) > 4096 {
		head = head[:4096]
	}
	if m := spdxRe.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

// copyrightOf returns the first copyright line in the head of a file, or "".
func copyrightOf(head []byte) string {
	if len(head) > 4096 {
		head = head[:4096]
	}
	if m := copyrightRe.FindSubmatch(head); m != nil {
		return strings.TrimSpace(string(m[1]))
	}
	return ""
}

// classifyLicense recognises a license text by its wording.
func classifyLicense(text []byte) string {
	s := strings.ToLower(string(text))
	switch {
	case strings.Contains(s, "permission is hereby granted, free of charge") || strings.HasPrefix(strings.TrimSpace(s), "mit license"):
		return "MIT"
	case strings.Contains(s, "apache license") && strings.Contains(s, "version 2.0"):
		return "Apache-2.0"
	case strings.Contains(s, "redistribution and use in source and binary forms"):
		if strings.Contains(s, "neither the name") {
			return "BSD-3-Clause"
		}
		return "BSD-2-Clause"
	}
	if id := spdxOf(text); id != "" {
		return id
	}
	return ""
}

// licenseFor returns the SPDX id and copyright line of a file: from its own
// header when it has them, else from the project's (or repository's) license file.
func (v *view) licenseFor(path string, src []byte) (spdx, copyright string) {
	spdx, copyright = spdxOf(src), copyrightOf(src)
	if spdx != "" && copyright != "" {
		return spdx, copyright
	}
	for _, name := range licenseFiles {
		b, err := v.read(name)
		if err != nil {
			continue
		}
		if spdx == "" {
			spdx = classifyLicense(b)
		}
		if copyright == "" {
			copyright = copyrightOf(b)
		}
		break
	}
	if (spdx == "" || copyright == "") && v.t.rootLicense != nil {
		if spdx == "" {
			spdx = classifyLicense(v.t.rootLicense)
		}
		if copyright == "" {
			copyright = copyrightOf(v.t.rootLicense)
		}
	}
	return spdx, copyright
}
