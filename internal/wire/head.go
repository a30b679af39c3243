package wire

// HeadBytes is how much of a message [HeadID] looks at: a transport that refuses a message
// before reading it whole keeps at most this many of its first bytes for the refusal.
const HeadBytes = 4 << 10

// HeadID returns the id of the request whose message begins with head, for answering a
// message refused before it was parsed (too large, over a budget): the raw "id" member of the
// top-level object, when the first HeadBytes of head hold that member whole, before anything
// invalid, and its value is an id (a string or a number). It returns nil otherwise, and for
// id null, a batch (whose refusal is one error with id null) or anything that is not an
// object. Of duplicate members the last one in the head wins, as in [ParseRequest]. The id
// usually comes before the large member (params); one that follows it is not seen.
func HeadID(head []byte) []byte {
	head = head[:min(len(head), HeadBytes)]
	i := SkipSpace(head, 0)
	if i == len(head) || head[i] != '{' {
		return nil
	}
	var id []byte
	// The scan ends with an error where head is cut off; the members before it have been seen.
	// A value that reaches the end of head may be cut off (a number: 12 of 123).
	scanObject(head, i, 1, func(key []byte, esc bool, s, e int) error {
		if e < len(head) && KeyIs(key, esc, "id") {
			id = head[s:e]
		}
		return nil
	})
	if len(id) == 0 || !(id[0] == '"' || id[0] == '-' || isDigit(id[0])) {
		return nil
	}
	return id
}
