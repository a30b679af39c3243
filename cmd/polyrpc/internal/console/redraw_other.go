//go:build !unix

package console

// Redraw reports false: without SIGWINCH the line editor cannot be asked to redraw, so the
// console prints the prompt itself (the text being typed stays in the editor, unseen until the
// cursor moves).
func (t *terminal) Redraw() bool { return false }
