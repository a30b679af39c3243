module github.com/polyrpc/polyrpc

// Supported: the two newest Go releases, from 1.25 on (sync.WaitGroup.Go, testing/synctest).
go 1.25

require (
	github.com/gorilla/websocket v1.5.3
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	gopkg.in/natefinch/npipe.v2 v2.0.0-20160621034901-c1b8fa8bdcce
)

require golang.org/x/text v0.14.0 // indirect
