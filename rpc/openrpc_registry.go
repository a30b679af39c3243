package rpc

import "sort"

// all returns every callback: the methods, then the subscriptions, each sorted by wire name
// (subscriptions by namespace and subscription name).
func (r *registry) all() []*callback {
	var cbs, subs []*callback
	if m := r.methods.Load(); m != nil {
		for _, cb := range *m {
			cbs = append(cbs, cb)
		}
	}
	if m := r.subs.Load(); m != nil {
		for _, cb := range *m {
			subs = append(subs, cb)
		}
	}
	sort.Slice(cbs, func(i, j int) bool { return cbs[i].name < cbs[j].name })
	sort.Slice(subs, func(i, j int) bool {
		if subs[i].namespace != subs[j].namespace {
			return subs[i].namespace < subs[j].namespace
		}
		return subs[i].subName < subs[j].subName
	})
	return append(cbs, subs...)
}
