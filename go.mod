module github.com/polyrpc/polyrpc

// Supported: the two newest Go releases, from 1.25 on (sync.WaitGroup.Go, testing/synctest).
go 1.25
