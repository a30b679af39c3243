// Package scaleout is the end-to-end proof that polyrpc nodes share subscriptions and chat
// through a broker: nats-server, redis-server and haproxy (Debian packages) in front of three
// polyrpc binaries on 127.0.0.1, with the latency figures of the benchmark README. It has
// tests only; they skip when the packages are missing (and fail under CI, whose .ci/run
// installs them). See README.md.
package scaleout
