package subscriptions

import "github.com/polyrpc/polyrpc/internal/wire"

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
	buf = wire.AppendPositionNotice(buf, s.ns+"_subscriptionPosition", string(s.ID), p.epoch, p.offset, p.recovered)
	return append(buf, '\n')
}
