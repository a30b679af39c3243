package ratelimit

import "time"

// SetClock makes l read the time from now.
func SetClock(l *Limiter, now func() time.Time) { l.now = now }

// Keys returns how many buckets each rule of l keeps.
func Keys(l *Limiter) []int {
	var n []int
	for _, r := range l.rules {
		r.buckets.mu.Lock()
		n = append(n, len(r.buckets.m))
		r.buckets.mu.Unlock()
	}
	return n
}
