package redisbroker

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/polyrpc/polyrpc/subscriptions"
)

// A topic T is three keys: PREFIX m:T, a hash holding its epoch (e) and last offset (s);
// PREFIX s:T, a stream whose entry ids are OFFSET-0, with the value (d) and the publish time
// in ms (t); and the channel PREFIX c:T, where each event is published as OFFSET:EPOCH:VALUE.
// PREFIX topics is a sorted set of the topics by last publish time. Offsets are contiguous:
// an event's Prev is its offset less one. A topic without its hash has lost its history: the
// next publish or read draws a new epoch and starts again from offset 1.
//
// The scripts compute the keys of evicted topics, so the broker needs a single Redis
// instance (not a cluster).

// publishScript appends one event atomically: epoch, offset, stream entry, expiry, publish,
// and the eviction of the topics beyond the retention.
//
// KEYS: meta, stream, topics. ARGV: value, epoch if none, maxlen (0: none), ttl in ms (0:
// none), channel, now in ms, max topics (0: none), topic, key prefix.
var publishScript = redis.NewScript(`
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[2]
  redis.call('HSET', KEYS[1], 'e', epoch)
  redis.call('DEL', KEYS[2])
end
local off = redis.call('HINCRBY', KEYS[1], 's', 1)
local id = string.format('%d-0', off)
if tonumber(ARGV[3]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], id, 'd', ARGV[1], 't', ARGV[6])
else
  redis.call('XADD', KEYS[2], id, 'd', ARGV[1], 't', ARGV[6])
end
if tonumber(ARGV[4]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('PUBLISH', ARGV[5], string.format('%d', off) .. ':' .. epoch .. ':' .. ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[8])
local keep = tonumber(ARGV[7])
if keep > 0 then
  local n = redis.call('ZCARD', KEYS[3])
  if n > keep then
    for _, name in ipairs(redis.call('ZRANGE', KEYS[3], 0, n - keep - 1)) do
      redis.call('DEL', ARGV[9] .. 'm:' .. name, ARGV[9] .. 's:' .. name)
      redis.call('ZREM', KEYS[3], name)
    end
  end
end
return {off, epoch}
`)

// historyScript reads a topic's epoch, last offset and events, giving it an epoch if it has
// none.
//
// KEYS: meta, stream, topics. ARGV: epoch if none, "latest" or "since", first offset (since),
// limit, ttl in ms (0: none), now in ms, topic.
var historyScript = redis.NewScript(`
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'e', epoch)
  redis.call('DEL', KEYS[2])
  if tonumber(ARGV[5]) > 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
  end
  redis.call('ZADD', KEYS[3], 'NX', ARGV[6], ARGV[7])
end
local top = redis.call('HGET', KEYS[1], 's') or '0'
local limit = tonumber(ARGV[4])
local evs = {}
if limit > 0 then
  if ARGV[2] == 'latest' then
    evs = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', limit)
  else
    evs = redis.call('XRANGE', KEYS[2], ARGV[3] .. '-0', '+', 'COUNT', limit)
  end
end
return {epoch, top, evs}
`)

func ms(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return max(d.Milliseconds(), 1)
}

func positive(n int) int { return max(n, 0) }

// Publish implements [subscriptions.Broker].
func (b *Broker) Publish(ctx context.Context, name string, data []byte) (subscriptions.Position, error) {
	if err := ctx.Err(); err != nil {
		return subscriptions.Position{}, err
	}
	if err := b.available(); err != nil {
		return subscriptions.Position{}, err
	}
	ctx, cancel := b.reqCtx(ctx)
	defer cancel()
	res, err := publishScript.Run(ctx, b.rdb,
		[]string{b.metaKey(name), b.streamKey(name), b.topicsKey()},
		data, newEpoch(), positive(b.ret.Events), ms(b.ret.Age), b.channel(name),
		time.Now().UnixMilli(), positive(b.ret.Topics), name, b.opts.Prefix).Slice()
	if err != nil {
		return subscriptions.Position{}, b.failed(name, err)
	}
	if len(res) != 2 {
		return subscriptions.Position{}, fmt.Errorf("redisbroker: publish script answered %v", res)
	}
	off, _ := res[0].(int64)
	epoch, _ := res[1].(string)
	if off < 1 || off > subscriptions.MaxOffset || epoch == "" {
		return subscriptions.Position{}, fmt.Errorf("redisbroker: publish script answered %v", res)
	}
	return subscriptions.Position{Epoch: epoch, Offset: uint64(off)}, nil
}

// History implements [subscriptions.Broker].
func (b *Broker) History(ctx context.Context, name string, since *subscriptions.Position, limit int) ([]subscriptions.Event, subscriptions.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, subscriptions.Position{}, err
	}
	if err := b.available(); err != nil {
		return nil, subscriptions.Position{}, err
	}
	ctx, cancel := b.reqCtx(ctx)
	defer cancel()
	mode, first := "latest", uint64(0)
	if since != nil {
		mode, first = "since", since.Offset+1
	}
	now := time.Now()
	res, err := historyScript.Run(ctx, b.rdb,
		[]string{b.metaKey(name), b.streamKey(name), b.topicsKey()},
		newEpoch(), mode, first, positive(limit), ms(b.ret.Age), now.UnixMilli(), name).Slice()
	if err != nil {
		return nil, subscriptions.Position{}, b.failed(name, err)
	}
	if len(res) != 3 {
		return nil, subscriptions.Position{}, fmt.Errorf("redisbroker: history script answered %v", res)
	}
	epoch, _ := res[0].(string)
	topStr, _ := res[1].(string)
	top, err := strconv.ParseUint(topStr, 10, 64)
	if err != nil || epoch == "" {
		return nil, subscriptions.Position{}, fmt.Errorf("redisbroker: history script answered %v", res)
	}
	raw, _ := res[2].([]any)
	evs := make([]subscriptions.Event, 0, len(raw))
	oldest := int64(0)
	if b.ret.Age > 0 {
		oldest = now.Add(-b.ret.Age).UnixMilli()
	}
	for _, r := range raw {
		ev, at, ok := parseEntry(name, epoch, r)
		if ok && at >= oldest {
			evs = append(evs, ev)
		}
	}
	if mode == "latest" {
		slices.Reverse(evs)
	}
	return evs, subscriptions.Position{Epoch: epoch, Offset: top}, nil
}

// parseEntry decodes one stream entry ([id, [field, value, …]]) as an event, with its publish
// time in ms.
func parseEntry(topic, epoch string, r any) (subscriptions.Event, int64, bool) {
	e, ok := r.([]any)
	if !ok || len(e) != 2 {
		return subscriptions.Event{}, 0, false
	}
	id, _ := e[0].(string)
	fields, _ := e[1].([]any)
	return entryEvent(topic, epoch, id, func(k string) string {
		for i := 0; i+1 < len(fields); i += 2 {
			if f, _ := fields[i].(string); f == k {
				v, _ := fields[i+1].(string)
				return v
			}
		}
		return ""
	})
}

// entryEvent makes an event of the entry id with the fields get returns.
func entryEvent(topic, epoch, id string, get func(string) string) (subscriptions.Event, int64, bool) {
	offStr, _, _ := strings.Cut(id, "-")
	off, err := strconv.ParseUint(offStr, 10, 64)
	if err != nil || off == 0 {
		return subscriptions.Event{}, 0, false
	}
	at, _ := strconv.ParseInt(get("t"), 10, 64)
	return subscriptions.Event{Topic: topic, Offset: off, Prev: off - 1, Epoch: epoch, Data: []byte(get("d"))}, at, true
}

// Topics implements [subscriptions.TopicLister]: the topics that have events, from the sorted
// set of topics.
func (b *Broker) Topics(ctx context.Context) ([]subscriptions.TopicInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.available(); err != nil {
		return nil, err
	}
	ctx, cancel := b.reqCtx(ctx)
	defer cancel()
	all, err := b.rdb.ZRangeWithScores(ctx, b.topicsKey(), 0, -1).Result()
	if err != nil {
		return nil, b.failed("", err)
	}
	pipe := b.rdb.Pipeline()
	metas := make([]*redis.SliceCmd, len(all))
	lens := make([]*redis.IntCmd, len(all))
	for i, z := range all {
		name, _ := z.Member.(string)
		metas[i] = pipe.HMGet(ctx, b.metaKey(name), "e", "s")
		lens[i] = pipe.XLen(ctx, b.streamKey(name))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, b.failed("", err)
	}
	out := make([]subscriptions.TopicInfo, 0, len(all))
	for i, z := range all {
		name, _ := z.Member.(string)
		m, _ := metas[i].Result()
		n, _ := lens[i].Result()
		if len(m) != 2 || n == 0 {
			continue
		}
		epoch, _ := m[0].(string)
		s, _ := m[1].(string)
		top, err := strconv.ParseUint(s, 10, 64)
		if epoch == "" || err != nil || top == 0 {
			continue
		}
		out = append(out, subscriptions.TopicInfo{Topic: name, Events: int(n), Top: subscriptions.Position{Epoch: epoch, Offset: top}, Last: time.UnixMilli(int64(z.Score))})
	}
	slices.SortFunc(out, func(x, y subscriptions.TopicInfo) int { return strings.Compare(x.Topic, y.Topic) })
	return out, nil
}
