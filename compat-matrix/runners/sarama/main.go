// Compatibility-matrix runner for Go sarama as Debian packages it (1.22.1),
// built offline in GOPATH mode (see compat-matrix/matrix.py).
//
// Usage: sarama-runner BOOTSTRAP TOPIC_PREFIX
// Prints one `MATRIX {json}` line per scenario (see compat-matrix/README.md).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

// version is the Debian package's, from the driver (MATRIX_CLIENT_VERSION).
var version = "1.22.1"

var (
	bootstrap []string
	prefix    string
)

type unsupported string

func (u unsupported) Error() string { return string(u) }

// note is a pass that comes with something a user should know.
type note string

func (n note) Error() string { return string(n) }

func topic(s string) string { return prefix + "-" + s }
func group(s string) string { return prefix + "-" + s + "-g" }

func produceValue(i int, codec string) string {
	return fmt.Sprintf("v%d-%s-", i, codec) + strings.Repeat("x", 200)
}

func check(cond bool, format string, a ...interface{}) error {
	if cond {
		return nil
	}
	return fmt.Errorf(format, a...)
}

func config() *sarama.Config {
	c := sarama.NewConfig()
	// The newest version this sarama knows; needed for zstd and headers.
	c.Version = sarama.V2_1_0_0
	c.ClientID = "compat-matrix-sarama"
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Return.Errors = true
	c.Metadata.Retry.Backoff = 100 * time.Millisecond
	// With a retention set, sarama 1.22 commits with OffsetCommit v2 instead of
	// v1; Kafka 4 brokers (this one too) no longer serve v0-1 (KIP-896).
	c.Consumer.Offsets.Retention = 7 * 24 * time.Hour
	return c
}

func waitUntil(d time.Duration, what string, pred func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ok, err := pred()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %v waiting for %s", d, what)
}

func admin() (sarama.ClusterAdmin, error) { return sarama.NewClusterAdmin(bootstrap, config()) }

func partitionsOf(a sarama.ClusterAdmin, t string) (int, error) {
	md, err := a.DescribeTopics([]string{t})
	if err != nil {
		return 0, err
	}
	if len(md) != 1 || md[0].Err != sarama.ErrNoError {
		return -1, nil
	}
	return len(md[0].Partitions), nil
}

func create(t string, partitions int32, cfg map[string]*string) error {
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.CreateTopic(t, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1, ConfigEntries: cfg}, false); err != nil {
		return fmt.Errorf("CreateTopic: %v", err)
	}
	return waitUntil(20*time.Second, "topic described", func() (bool, error) {
		n, err := partitionsOf(a, t)
		return n == int(partitions), err
	})
}

type rec struct {
	partition int32
	key       string
	value     string
	headers   map[string]string
	ts        time.Time
}

func produce(t string, recs []rec, tweak func(*sarama.Config)) ([]int64, error) {
	c := config()
	if tweak != nil {
		tweak(c)
	}
	p, err := sarama.NewSyncProducer(bootstrap, c)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		m := &sarama.ProducerMessage{Topic: t, Partition: r.partition, Value: sarama.StringEncoder(r.value), Timestamp: r.ts}
		if r.key != "" {
			m.Key = sarama.StringEncoder(r.key)
		}
		for k, v := range r.headers {
			m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		}
		msgs[i] = m
	}
	if err := p.SendMessages(msgs); err != nil {
		return nil, err
	}
	offs := make([]int64, len(msgs))
	for i, m := range msgs {
		offs[i] = m.Offset
	}
	return offs, nil
}

func readPartition(t string, p int32, from int64, n int) ([]*sarama.ConsumerMessage, error) {
	c, err := sarama.NewConsumer(bootstrap, config())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	pc, err := c.ConsumePartition(t, p, from)
	if err != nil {
		return nil, err
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case e := <-pc.Errors():
			return nil, e
		case <-timeout:
			return nil, fmt.Errorf("read %d of %d records", len(out), n)
		}
	}
	return out, nil
}

// --- scenarios ----------------------------------------------------------------

func metadata() error {
	t := topic("metadata")
	if err := create(t, 3, nil); err != nil {
		return err
	}
	cl, err := sarama.NewClient(bootstrap, config())
	if err != nil {
		return err
	}
	defer cl.Close()
	port := bootstrap[0][strings.LastIndex(bootstrap[0], ":"):]
	found := false
	for _, b := range cl.Brokers() {
		found = found || strings.HasSuffix(b.Addr(), port)
	}
	if err := check(found, "bootstrap port not among the brokers"); err != nil {
		return err
	}
	parts, err := cl.Partitions(t)
	if err != nil {
		return err
	}
	if err := check(len(parts) == 3, "partitions %v", parts); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := cl.Leader(t, p); err != nil {
			return fmt.Errorf("leader of %d: %v", p, err)
		}
	}
	return nil
}

var codecs = map[string]sarama.CompressionCodec{
	"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
	"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
}

func produceCodec(codec string) error {
	t := topic("produce-" + codec)
	if err := create(t, 1, nil); err != nil {
		return err
	}
	var recs []rec
	for i := 0; i < 50; i++ {
		recs = append(recs, rec{key: fmt.Sprintf("k%d", i), value: produceValue(i, codec), headers: map[string]string{"idx": strconv.Itoa(i)}})
	}
	offs, err := produce(t, recs, func(c *sarama.Config) { c.Producer.Compression = codecs[codec] })
	if err != nil {
		return err
	}
	for i, o := range offs {
		if o != int64(i) {
			return fmt.Errorf("acked offset %d for record %d", o, i)
		}
	}
	got, err := readPartition(t, 0, 0, 50)
	if err != nil {
		return err
	}
	for i, m := range got {
		if m.Offset != int64(i) || string(m.Key) != fmt.Sprintf("k%d", i) || string(m.Value) != produceValue(i, codec) {
			return fmt.Errorf("record %d read back as offset %d key %q", i, m.Offset, m.Key)
		}
		if len(m.Headers) != 1 || string(m.Headers[0].Key) != "idx" || string(m.Headers[0].Value) != strconv.Itoa(i) {
			return fmt.Errorf("record %d headers %v", i, m.Headers)
		}
	}
	return nil
}

func fetch() error {
	t := topic("fetch")
	if err := create(t, 3, nil); err != nil {
		return err
	}
	var recs []rec
	for i := 0; i < 30; i++ {
		recs = append(recs, rec{partition: int32(i % 3), key: fmt.Sprintf("k%d", i), value: fmt.Sprintf("v%d", i)})
	}
	if _, err := produce(t, recs, nil); err != nil {
		return err
	}
	for p := 0; p < 3; p++ {
		got, err := readPartition(t, int32(p), sarama.OffsetOldest, 10)
		if err != nil {
			return err
		}
		for j, m := range got {
			if string(m.Value) != fmt.Sprintf("v%d", p+3*j) {
				return fmt.Errorf("partition %d record %d is %s", p, j, m.Value)
			}
		}
	}
	mid, err := readPartition(t, 1, 5, 5)
	if err != nil {
		return err
	}
	if mid[0].Offset != 5 || string(mid[0].Value) != "v16" || mid[4].Offset != 9 {
		return fmt.Errorf("from offset 5 of partition 1: %d %s", mid[0].Offset, mid[0].Value)
	}
	return nil
}

// member is one ConsumerGroup consuming in the background; it records its
// assignment (from the session's claims) and the values it received.
type member struct {
	cg     sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	claims []int32
	values []string
	err    error
}

func (m *member) Setup(s sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []int32
	for _, p := range s.Claims() {
		ps = append(ps, p...)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	m.claims = ps
	return nil
}
func (m *member) Cleanup(sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	m.claims = nil
	m.mu.Unlock()
	return nil
}
func (m *member) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for msg := range c.Messages() {
		m.mu.Lock()
		m.values = append(m.values, string(msg.Value))
		m.mu.Unlock()
		s.MarkMessage(msg, "")
	}
	return nil
}

func join(g, t string) (*member, error) {
	c := config()
	c.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	c.Consumer.Group.Session.Timeout = 6 * time.Second
	c.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
	cg, err := sarama.NewConsumerGroup(bootstrap, g, c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{cg: cg, cancel: cancel, done: make(chan struct{})}
	go func() {
		for e := range cg.Errors() {
			fmt.Println("consumer group error:", e)
		}
	}()
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{t}, m); err != nil {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
				fmt.Println("Consume:", err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	return m, nil
}

func (m *member) snapshot() ([]int32, []string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int32(nil), m.claims...), append([]string(nil), m.values...), m.err
}

// close ends the session (commits marked offsets) and leaves the group.
func (m *member) close() error {
	m.cancel()
	<-m.done
	return m.cg.Close()
}

func group_() error {
	t, g := topic("group"), group("group")
	if err := create(t, 2, nil); err != nil {
		return err
	}
	var recs []rec
	for i := 0; i < 10; i++ {
		recs = append(recs, rec{partition: int32(i % 2), value: fmt.Sprintf("a%d", i)})
	}
	if _, err := produce(t, recs, nil); err != nil {
		return err
	}
	m1, err := join(g, t)
	if err != nil {
		return err
	}
	err = waitUntil(30*time.Second, "first member's 10 records", func() (bool, error) {
		_, v, _ := m1.snapshot()
		return len(v) >= 10, nil
	})
	if cerr := m1.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		_, _, last := m1.snapshot()
		return fmt.Errorf("%v (last consume error: %v)", err, last)
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	resp, err := a.ListConsumerGroupOffsets(g, map[string][]int32{t: {0, 1}})
	if err != nil {
		return err
	}
	for p := int32(0); p < 2; p++ {
		b := resp.GetBlock(t, p)
		if b == nil || b.Offset != 5 {
			return fmt.Errorf("committed offset of partition %d: %+v", p, b)
		}
	}
	recs = nil
	for i := 0; i < 4; i++ {
		recs = append(recs, rec{partition: int32(i % 2), value: fmt.Sprintf("b%d", i)})
	}
	if _, err := produce(t, recs, nil); err != nil {
		return err
	}
	m2, err := join(g, t)
	if err != nil {
		return err
	}
	err = waitUntil(30*time.Second, "second member's 4 records", func() (bool, error) {
		_, v, _ := m2.snapshot()
		return len(v) >= 4, nil
	})
	time.Sleep(time.Second)
	_, vals, _ := m2.snapshot()
	m2.close()
	if err != nil {
		return err
	}
	sort.Strings(vals)
	if err := check(strings.Join(vals, ",") == "b0,b1,b2,b3", "second member resumed with %v", vals); err != nil {
		return err
	}
	return note("with Consumer.Offsets.Retention set: otherwise sarama 1.22 commits with OffsetCommit v1, which Kafka 4 brokers (this one too) no longer serve")
}

func rebalance() error {
	t, g := topic("rebalance"), group("rebalance")
	if err := create(t, 4, nil); err != nil {
		return err
	}
	m1, err := join(g, t)
	if err != nil {
		return err
	}
	defer m1.close()
	if err := waitUntil(20*time.Second, "m1 assigned 4 partitions", func() (bool, error) {
		c, _, _ := m1.snapshot()
		return len(c) == 4, nil
	}); err != nil {
		return err
	}
	m2, err := join(g, t)
	if err != nil {
		return err
	}
	err = waitUntil(40*time.Second, "2 partitions each", func() (bool, error) {
		c1, _, _ := m1.snapshot()
		c2, _, _ := m2.snapshot()
		return len(c1) == 2 && len(c2) == 2 && fmt.Sprint(append(append([]int32{}, c1...), c2...)) != "", nil
	})
	if err != nil {
		m2.close()
		return err
	}
	c1, _, _ := m1.snapshot()
	c2, _, _ := m2.snapshot()
	all := append(append([]int32{}, c1...), c2...)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if err := check(fmt.Sprint(all) == "[0 1 2 3]", "split %v / %v", c1, c2); err != nil {
		m2.close()
		return err
	}
	if err := m2.close(); err != nil {
		return err
	}
	return waitUntil(40*time.Second, "m1 back to 4 partitions", func() (bool, error) {
		c, _, _ := m1.snapshot()
		return len(c) == 4, nil
	})
}

func idempotent() error {
	t := topic("idempotent")
	if err := create(t, 1, nil); err != nil {
		return err
	}
	var recs []rec
	for i := 0; i < 20; i++ {
		recs = append(recs, rec{value: fmt.Sprintf("i%d", i)})
	}
	offs, err := produce(t, recs, func(c *sarama.Config) {
		c.Producer.Idempotent = true
		c.Net.MaxOpenRequests = 1
	})
	if err != nil {
		return err
	}
	for i, o := range offs {
		if o != int64(i) {
			return fmt.Errorf("acked offset %d for record %d", o, i)
		}
	}
	got, err := readPartition(t, 0, 0, 20)
	if err != nil {
		return err
	}
	for i, m := range got {
		if string(m.Value) != fmt.Sprintf("i%d", i) {
			return fmt.Errorf("record %d is %s", i, m.Value)
		}
	}
	return nil
}

func transactions() error {
	return unsupported("sarama 1.22 has no transactional producer (added in 1.37)")
}

func adminTopics() error {
	t := topic("admin-topics")
	ret := "3600000"
	if err := create(t, 2, map[string]*string{"retention.ms": &ret}); err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	// ClusterAdmin.ListTopics also sends DescribeConfigs v0, which Kafka 4
	// removed; list the topics from metadata instead.
	cl, err := sarama.NewClient(bootstrap, config())
	if err != nil {
		return err
	}
	defer cl.Close()
	listed := func() (bool, error) {
		if err := cl.RefreshMetadata(); err != nil {
			return false, err
		}
		topics, err := cl.Topics()
		for _, x := range topics {
			if x == t {
				return true, err
			}
		}
		return false, err
	}
	if ok, err := listed(); err != nil || !ok {
		return fmt.Errorf("created topic not listed (%v)", err)
	}
	if n, err := partitionsOf(a, t); err != nil || n != 2 {
		return fmt.Errorf("described %d partitions (%v)", n, err)
	}
	if err := a.DeleteTopic(t); err != nil {
		return fmt.Errorf("DeleteTopic: %v", err)
	}
	return waitUntil(20*time.Second, "topic gone", func() (bool, error) {
		ok, err := listed()
		return !ok, err
	})
}

func adminPartitions() error {
	t := topic("admin-partitions")
	if err := create(t, 1, nil); err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.CreatePartitions(t, 3, nil, false); err != nil {
		return fmt.Errorf("CreatePartitions: %v", err)
	}
	return waitUntil(20*time.Second, "3 partitions", func() (bool, error) {
		n, err := partitionsOf(a, t)
		return n == 3, err
	})
}

func configMap(entries []sarama.ConfigEntry) map[string]string {
	m := map[string]string{}
	for _, e := range entries {
		m[e.Name] = e.Value
	}
	return m
}

// brokerMin asks the broker (ApiVersions) for the oldest version it serves of an API.
func brokerMin(key int16) (int16, error) {
	b := sarama.NewBroker(bootstrap[0])
	if err := b.Open(config()); err != nil {
		return 0, err
	}
	defer b.Close()
	resp, err := b.ApiVersions(&sarama.ApiVersionsRequest{})
	if err != nil {
		return 0, err
	}
	for _, v := range resp.ApiVersions {
		if v.ApiKey == key {
			return v.MinVersion, nil
		}
	}
	return 0, fmt.Errorf("broker does not list API %d", key)
}

func adminConfigs() error {
	// sarama 1.22 always sends DescribeConfigs v0 (API 32).
	if min, err := brokerMin(32); err != nil {
		return err
	} else if min > 0 {
		return unsupported(fmt.Sprintf("sarama 1.22 sends DescribeConfigs v0; the broker serves v%d+, as Kafka 4 does (KIP-896)", min))
	}
	t := topic("admin-configs")
	if err := create(t, 1, nil); err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	entries, err := a.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: t})
	if err != nil {
		return fmt.Errorf("DescribeConfig: %v", err)
	}
	if _, ok := configMap(entries)["retention.ms"]; !ok {
		return fmt.Errorf("retention.ms missing")
	}
	v := "7200000"
	if err := a.AlterConfig(sarama.TopicResource, t, map[string]*string{"retention.ms": &v}, false); err != nil {
		return fmt.Errorf("AlterConfig: %v", err)
	}
	entries, err = a.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: t})
	if err != nil {
		return err
	}
	if got := configMap(entries)["retention.ms"]; got != v {
		return fmt.Errorf("retention.ms is %q", got)
	}
	brokers, _, err := a.DescribeCluster()
	if err != nil {
		return err
	}
	bentries, err := a.DescribeConfig(sarama.ConfigResource{Type: sarama.BrokerResource, Name: strconv.Itoa(int(brokers[0].ID()))})
	if err != nil {
		return fmt.Errorf("DescribeConfig broker: %v", err)
	}
	_, ok := configMap(bentries)["num.partitions"]
	return check(ok, "broker config lacks num.partitions (%d entries)", len(bentries))
}

func adminGroups() error {
	t, g := topic("admin-groups"), group("admin-groups")
	if err := create(t, 1, nil); err != nil {
		return err
	}
	if _, err := produce(t, []rec{{value: "g0"}, {value: "g1"}, {value: "g2"}}, nil); err != nil {
		return err
	}
	m, err := join(g, t)
	if err != nil {
		return err
	}
	err = waitUntil(30*time.Second, "3 records", func() (bool, error) {
		_, v, _ := m.snapshot()
		return len(v) >= 3, nil
	})
	m.close()
	if err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	groups, err := a.ListConsumerGroups()
	if err != nil {
		return fmt.Errorf("ListConsumerGroups: %v", err)
	}
	if _, ok := groups[g]; !ok {
		return fmt.Errorf("%s not in listed groups %v", g, groups)
	}
	desc, err := a.DescribeConsumerGroups([]string{g})
	if err != nil {
		return fmt.Errorf("DescribeConsumerGroups: %v", err)
	}
	if err := check(len(desc) == 1 && (desc[0].State == "Empty" || desc[0].State == "Stable"), "described %+v", desc); err != nil {
		return err
	}
	if err := check(desc[0].ProtocolType == "consumer", "group %s described with protocol type %q, not \"consumer\"", desc[0].State, desc[0].ProtocolType); err != nil {
		return err
	}
	resp, err := a.ListConsumerGroupOffsets(g, map[string][]int32{t: {0}})
	if err != nil {
		return err
	}
	b := resp.GetBlock(t, 0)
	return check(b != nil && b.Offset == 3, "committed offset %+v", b)
}

func offsets() error {
	t := topic("offsets")
	if err := create(t, 1, nil); err != nil {
		return err
	}
	base := time.Unix(time.Now().Unix()-600, 0)
	var recs []rec
	for i := 0; i < 10; i++ {
		recs = append(recs, rec{value: fmt.Sprintf("o%d", i), ts: base.Add(time.Duration(i) * time.Second)})
	}
	if _, err := produce(t, recs, nil); err != nil {
		return err
	}
	cl, err := sarama.NewClient(bootstrap, config())
	if err != nil {
		return err
	}
	defer cl.Close()
	e, err1 := cl.GetOffset(t, 0, sarama.OffsetOldest)
	l, err2 := cl.GetOffset(t, 0, sarama.OffsetNewest)
	ts, err3 := cl.GetOffset(t, 0, base.Add(5*time.Second).UnixNano()/1e6)
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return err
		}
	}
	return check(e == 0 && l == 10 && ts == 5, "earliest %d, latest %d, offset for the 6th record's timestamp %d (want 0, 10, 5)", e, l, ts)
}

func deleteRecords() error {
	t := topic("delete-records")
	if err := create(t, 1, nil); err != nil {
		return err
	}
	var recs []rec
	for i := 0; i < 10; i++ {
		recs = append(recs, rec{value: fmt.Sprintf("d%d", i)})
	}
	if _, err := produce(t, recs, nil); err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.DeleteRecords(t, map[int32]int64{0: 4}); err != nil {
		return fmt.Errorf("DeleteRecords: %v", err)
	}
	got, err := readPartition(t, 0, sarama.OffsetOldest, 6)
	if err != nil {
		return err
	}
	return check(got[0].Offset == 4 && string(got[0].Value) == "d4", "first record after delete at %d", got[0].Offset)
}

func emit(scenario, status, reason string, secs float64) {
	b, _ := json.Marshal(map[string]interface{}{
		"client": "sarama", "version": version, "scenario": scenario,
		"status": status, "reason": reason, "seconds": float64(int(secs*100)) / 100,
	})
	fmt.Printf("MATRIX %s\n", b)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sarama-runner BOOTSTRAP TOPIC_PREFIX")
		os.Exit(2)
	}
	bootstrap, prefix = []string{os.Args[1]}, os.Args[2]
	if v := os.Getenv("MATRIX_CLIENT_VERSION"); v != "" {
		version = v
	}
	type scenario struct {
		name string
		fn   func() error
	}
	list := []scenario{{"metadata", metadata}}
	for _, c := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		c := c
		list = append(list, scenario{"produce-" + c, func() error { return produceCodec(c) }})
	}
	list = append(list, []scenario{
		{"fetch", fetch}, {"group", group_}, {"rebalance", rebalance}, {"idempotent", idempotent},
		{"transactions", transactions}, {"admin-topics", adminTopics}, {"admin-partitions", adminPartitions},
		{"admin-configs", adminConfigs}, {"admin-groups", adminGroups}, {"offsets", offsets},
		{"delete-records", deleteRecords},
	}...)
	for _, s := range list {
		fmt.Printf("\n=== sarama: %s ===\n", s.name)
		t0 := time.Now()
		done := make(chan error, 1)
		go func(f func() error) { done <- f() }(s.fn)
		var err error
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			err = fmt.Errorf("scenario took longer than 60s")
		}
		secs := time.Since(t0).Seconds()
		switch e := err.(type) {
		case nil:
			emit(s.name, "pass", "", secs)
		case unsupported:
			emit(s.name, "unsupported", string(e), secs)
		case note:
			emit(s.name, "pass", string(e), secs)
		default:
			fmt.Println(s.name+":", err)
			emit(s.name, "fail", err.Error(), secs)
		}
	}
}
