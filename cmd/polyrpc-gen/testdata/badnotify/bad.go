// Package badnotify declares a notification type the generated file could not name.
package badnotify

import "time"

// S is a service.
type S struct{}

// Clock notifies times of another package.
//
// Notifies: time.Time
func (S) Clock() time.Time { return time.Time{} }
