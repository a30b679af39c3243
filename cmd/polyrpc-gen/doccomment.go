package main

import (
	"regexp"
	"strconv"
	"strings"
)

// docParts is what a method's doc comment says, by the conventions in the package doc.
type docParts struct {
	text       string // the comment without its Errors: block
	returns    string // a paragraph beginning "Returns", joined into one line
	notifies   string // the type of a "Notifies: T" line
	permission string // the name of a "Permission: NAME" line
	errors     []errorMeta
	deprecated bool
}

// errorLine is one line of an Errors: block: a code, then what it means.
var errorLine = regexp.MustCompile(`^\s*(-?[0-9]+)\s*[:\-–]?\s+(\S.*)$`)

// parseDoc splits a doc comment (as go/doc gives it: markers removed) into its parts.
func parseDoc(text string) docParts {
	var d docParts
	lines := strings.Split(strings.TrimSpace(text), "\n")
	var kept []string
	for i := 0; i < len(lines); i++ {
		if t, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "Notifies:"); ok {
			d.notifies = strings.TrimSpace(t)
			continue
		}
		if t, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "Permission:"); ok && len(strings.Fields(t)) == 1 {
			d.permission = strings.TrimSpace(t)
			continue
		}
		if strings.TrimSpace(lines[i]) != "Errors:" {
			kept = append(kept, lines[i])
			continue
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++ // gofmt puts a blank line before an indented block
		}
		for ; j < len(lines); j++ {
			m := errorLine.FindStringSubmatch(lines[j])
			if m == nil {
				break
			}
			code, err := strconv.Atoi(m[1])
			if err != nil {
				break
			}
			d.errors = append(d.errors, errorMeta{code: code, message: strings.TrimSpace(m[2])})
		}
		i = j - 1
	}
	d.text = strings.TrimSpace(collapseBlank(kept))
	for _, para := range strings.Split(d.text, "\n\n") {
		first := strings.TrimSpace(para)
		switch {
		case strings.HasPrefix(first, "Deprecated:"):
			d.deprecated = true
		case strings.HasPrefix(first, "Returns") && d.returns == "":
			d.returns = strings.Join(strings.Fields(para), " ")
		}
	}
	return d
}

// collapseBlank joins lines, keeping at most one blank line in a row.
func collapseBlank(lines []string) string {
	var b strings.Builder
	blank := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			if !blank {
				b.WriteByte('\n')
			}
			blank = true
			continue
		}
		blank = false
		b.WriteString(strings.TrimRight(l, " \t"))
		b.WriteByte('\n')
	}
	return b.String()
}
