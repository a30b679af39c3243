package subscriptions

// Limits bound one connection's subscriptions. The zero value gives the defaults documented on
// each field; a negative value removes that limit.
type Limits struct {
	// MaxSubscriptions is the most subscriptions one connection may hold (including those being
	// created). Beyond it a subscribe call fails with ErrTooManySubscriptions. Default 1024.
	MaxSubscriptions int

	// MaxQueued bounds the notifications waiting to be written to one connection, across its
	// subscriptions, including those held until their subscribe answer is written. One burst
	// being written (at most 256 notifications and 256 KiB) comes on top. Default 10 000.
	MaxQueued int

	// MaxQueuedBytes bounds the bytes of those notifications. Default 8 MiB.
	MaxQueuedBytes int

	// Policy is the overflow policy of subscriptions that do not choose their own
	// ([WithPolicy]). Default CloseConn.
	Policy Policy
}

type limits struct {
	maxSubs, maxQueued, maxBytes int
	policy                       Policy
}

const unlimited = int(^uint(0) >> 1)

func pick(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return unlimited
	}
	return v
}

// Resolved returns l with the defaults filled in and "no limit" (a negative value) as
// math.MaxInt, the values a connection applies.
func (l Limits) Resolved() Limits {
	return Limits{
		MaxSubscriptions: pick(l.MaxSubscriptions, 1024),
		MaxQueued:        pick(l.MaxQueued, 10_000),
		MaxQueuedBytes:   pick(l.MaxQueuedBytes, 8<<20),
		Policy:           l.Policy,
	}
}

func (l Limits) resolve() limits {
	r := l.Resolved()
	return limits{maxSubs: r.MaxSubscriptions, maxQueued: r.MaxQueued, maxBytes: r.MaxQueuedBytes, policy: r.Policy}
}
