module github.com/polyrpc/polyrpc/cmd/polyrpc

go 1.26.0

replace (
	github.com/polyrpc/polyrpc => ../..
	github.com/polyrpc/polyrpc/brokers/natsbroker => ../../brokers/natsbroker
	github.com/polyrpc/polyrpc/brokers/redisbroker => ../../brokers/redisbroker
	github.com/polyrpc/polyrpc/guard => ../../guard
	github.com/polyrpc/polyrpc/observability/promrpc => ../../observability/promrpc
)

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/go-chi/chi/v5 v5.5.0
	github.com/peterh/liner v1.2.2
	github.com/polyrpc/polyrpc v0.0.0-00010101000000-000000000000
	github.com/polyrpc/polyrpc/brokers/natsbroker v0.0.0-00010101000000-000000000000
	github.com/polyrpc/polyrpc/brokers/redisbroker v0.0.0-00010101000000-000000000000
	github.com/polyrpc/polyrpc/guard v0.0.0-00010101000000-000000000000
	github.com/polyrpc/polyrpc/observability/promrpc v0.0.0-00010101000000-000000000000
	github.com/prometheus/client_golang v1.25.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/mattn/go-runewidth v0.0.3 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/nats.go v1.56.0 // indirect
	github.com/nats-io/nkeys v0.4.17 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/natefinch/npipe.v2 v2.0.0-20160621034901-c1b8fa8bdcce // indirect
)
