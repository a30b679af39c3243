module github.com/polyrpc/polyrpc/cmd/polyrpc

go 1.25

replace github.com/polyrpc/polyrpc => ../..

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/go-chi/chi/v5 v5.5.0
	github.com/peterh/liner v1.2.2
	github.com/polyrpc/polyrpc v0.0.0-00010101000000-000000000000
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/mattn/go-runewidth v0.0.3 // indirect
	golang.org/x/sys v0.38.0 // indirect
	gopkg.in/natefinch/npipe.v2 v2.0.0-20160621034901-c1b8fa8bdcce // indirect
)
