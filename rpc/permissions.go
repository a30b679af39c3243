package rpc

import (
	"fmt"
	"strconv"
)

// WithPermission declares the permission a caller needs to call the Go methods goMethods of
// the receiver (subscriptions included), or every one of its methods when goMethods is empty.
// A permission named for a method wins over one given for every method, and both win over a
// "Permission:" line in the method's doc comment (generated metadata, [MethodMetadata]).
// Registration fails if a named method does not exist.
//
// A call to a method that needs a permission is checked before its params are decoded: it
// runs only if the principal of the caller's connection (see [Authenticator]) is a
// [Permitter] that allows the permission; otherwise it is answered
// [CodePermissionDenied], "permission denied" (a connection without a principal is
// refused). rpc_modules and rpc.discover list only what the caller may call.
func WithPermission(permission string, goMethods ...string) RegisterOption {
	return func(r *registration) {
		if len(goMethods) == 0 {
			r.permAll = permission
			return
		}
		if r.perms == nil {
			r.perms = make(map[string]string)
		}
		for _, m := range goMethods {
			r.perms[m] = permission
		}
	}
}

// Permitter is implemented by a principal that holds permissions: Allows reports whether it
// holds permission. How permissions relate (a level that includes lower ones, a list, a
// wildcard) is the principal's business.
type Permitter interface {
	Allows(permission string) bool
}

// permit sets the permission of cb, the Go method goName, from the registration (r.perms,
// r.permAll) or its metadata.
func (r *registration) permit(cb *callback, goName string) {
	perm, ok := r.perms[goName]
	switch {
	case ok:
	case r.permAll != "":
		perm = r.permAll
	case cb.meta != nil:
		perm = cb.meta.Permission
	}
	cb.perm = perm
	if perm != "" {
		cb.denied = &Error{Code: CodePermissionDenied,
			Message: "permission denied: " + cb.publicName() + " needs the permission " + strconv.Quote(perm)}
	}
}

// checkPermissions reports a method named in WithPermission that rt does not have.
func (r *registration) checkPermissions(found map[string]bool, rt fmt.Stringer) error {
	for _, name := range sortedKeys(r.perms) {
		if !found[name] {
			return fmt.Errorf("rpc: WithPermission(%q): %s has no suitable method of that name", name, rt)
		}
	}
	return nil
}

// publicName is the name a caller knows cb by: namespace_method, or NS_subscribe("name").
func (cb *callback) publicName() string {
	if cb.subName != "" {
		return cb.name + "(" + strconv.Quote(cb.subName) + ")"
	}
	return cb.name
}

// permits reports whether the session's principal may call cb.
func (ss *Session) permits(cb *callback) bool {
	if cb.perm == "" {
		return true
	}
	p, ok := ss.info.Principal.(Permitter)
	return ok && p.Allows(cb.perm)
}
