module github.com/polyrpc/polyrpc/guard

go 1.26.0

replace github.com/polyrpc/polyrpc => ..

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/gorilla/websocket v1.5.3
	github.com/polyrpc/polyrpc v0.0.0-00010101000000-000000000000
	golang.org/x/time v0.16.0
)
