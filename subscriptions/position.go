package subscriptions

import "strconv"

// position is a position notice: what follows continues after offset in epoch, and recovered
// tells whether it continues what the subscriber had (or asked for) without a gap.
type position struct {
	epoch     string
	offset    uint64
	recovered bool
}

// mergePositions combines two notices due at the same place: the later one's position, and a
// gap if either had one.
func mergePositions(a, b *position) *position {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &position{epoch: b.epoch, offset: b.offset, recovered: a.recovered && b.recovered}
}

// appendPositionNotice appends the notice NS_subscriptionPosition for p.
func (s *Subscription) appendPositionNotice(buf []byte, p *position) []byte {
	buf = append(buf, `{"jsonrpc":"2.0","method":"`...)
	buf = append(buf, s.ns...)
	buf = append(buf, `_subscriptionPosition","params":{"subscription":"`...)
	buf = append(buf, s.ID...)
	buf = append(buf, `","epoch":`...)
	if q, err := encode(p.epoch); err == nil {
		buf = append(buf, q...)
	} else {
		buf = append(buf, `""`...)
	}
	buf = append(buf, `,"offset":`...)
	buf = strconv.AppendUint(buf, p.offset, 10)
	buf = append(buf, `,"recovered":`...)
	buf = strconv.AppendBool(buf, p.recovered)
	return append(buf, "}}\n"...)
}
