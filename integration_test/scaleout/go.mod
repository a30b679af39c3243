module github.com/polyrpc/polyrpc/integration_test/scaleout

go 1.25

replace github.com/polyrpc/polyrpc => ../..

require (
	github.com/gorilla/websocket v1.5.3
	github.com/polyrpc/polyrpc v0.0.0-00010101000000-000000000000
)
