module github.com/polyrpc/polyrpc/integration_test

go 1.26.0

replace (
	github.com/polyrpc/polyrpc => ..
	github.com/polyrpc/polyrpc/guard => ../guard
)

require (
	github.com/chromedp/cdproto v0.159.0
	github.com/chromedp/chromedp v0.23.0
	github.com/creack/pty v1.1.24
	github.com/gorilla/websocket v1.5.3
	github.com/polyrpc/polyrpc v0.0.0-00010101000000-000000000000
	github.com/polyrpc/polyrpc/guard v0.0.0-00010101000000-000000000000
)

require (
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	gopkg.in/natefinch/npipe.v2 v2.0.0-20160621034901-c1b8fa8bdcce // indirect
)
