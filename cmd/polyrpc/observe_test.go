package main

import (
	"strings"
	"testing"

	"github.com/polyrpc/polyrpc/rpc"
	"github.com/polyrpc/polyrpc/subscriptions"
)

// TestJoinHooks: every set hook of every Hooks is called, in order; unset ones are skipped.
func TestJoinHooks(t *testing.T) {
	var calls []string
	rec := func(s string) rpc.Hooks {
		return rpc.Hooks{
			ConnOpened:           func(*rpc.ConnInfo) { calls = append(calls, s+" opened") },
			ConnClosed:           func(*rpc.ConnInfo, string) { calls = append(calls, s+" closed") },
			Refused:              func(*rpc.ConnInfo, string) { calls = append(calls, s+" refused") },
			SubscriptionStarted:  func(*rpc.ConnInfo, *rpc.MethodInfo) { calls = append(calls, s+" started") },
			SubscriptionEnded:    func(*rpc.ConnInfo, *rpc.MethodInfo) { calls = append(calls, s+" ended") },
			NotificationsSent:    func(*rpc.ConnInfo, *rpc.MethodInfo, int) { calls = append(calls, s+" sent") },
			NotificationsDropped: func(*rpc.ConnInfo, *rpc.MethodInfo, subscriptions.Policy, int) { calls = append(calls, s+" dropped") },
		}
	}
	h := joinHooks(rec("a"), rpc.Hooks{}, rpc.Hooks{ConnOpened: func(*rpc.ConnInfo) { calls = append(calls, "b opened") }}, rec("c"))
	ci, mi := &rpc.ConnInfo{}, &rpc.MethodInfo{}
	h.ConnOpened(ci)
	h.ConnClosed(ci, "")
	h.Refused(ci, "")
	h.SubscriptionStarted(ci, mi)
	h.SubscriptionEnded(ci, mi)
	h.NotificationsSent(ci, mi, 1)
	h.NotificationsDropped(ci, mi, subscriptions.DropOldest, 1)
	want := "a opened,b opened,c opened,a closed,c closed,a refused,c refused,a started,c started,a ended,c ended,a sent,c sent,a dropped,c dropped"
	if got := strings.Join(calls, ","); got != want {
		t.Errorf("calls\n%s\nwant\n%s", got, want)
	}
	if h := joinHooks(rpc.Hooks{}, rpc.Hooks{}); h.ConnOpened != nil || h.NotificationsDropped != nil {
		t.Error("hooks set from none")
	}
}
