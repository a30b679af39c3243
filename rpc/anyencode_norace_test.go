//go:build !race

package rpc

const anyRace = false
