package wordfilter

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxWordLen bounds one entry of the word list (bytes).
const maxWordLen = 256

// parseList returns the folded, de-duplicated entries of a word list.
func parseList(data []byte) ([]string, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrWordList)
	}
	seen := map[string]bool{}
	var words []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		w := strings.TrimSpace(sc.Text())
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		if len(w) > maxWordLen {
			return nil, fmt.Errorf("%w: line %d: entry longer than %d bytes", ErrWordList, line, maxWordLen)
		}
		f := fold(w)
		if !seen[f] {
			seen[f] = true
			words = append(words, f)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWordList, err)
	}
	return words, nil
}
