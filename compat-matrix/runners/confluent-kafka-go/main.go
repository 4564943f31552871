// Compatibility-matrix runner for confluent-kafka-go as Debian packages it
// (0.11.6, linked to Debian's librdkafka 2.0.2), built offline in GOPATH mode.
//
// Usage: confluent-kafka-go-runner BOOTSTRAP TOPIC_PREFIX
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
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

var (
	bootstrap string
	prefix    string
)

type unsupported string

func (u unsupported) Error() string { return string(u) }

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

func conf(extra kafka.ConfigMap) *kafka.ConfigMap {
	c := kafka.ConfigMap{"bootstrap.servers": bootstrap}
	for k, v := range extra {
		c[k] = v
	}
	return &c
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

func ctx() context.Context {
	c, _ := context.WithTimeout(context.Background(), 30*time.Second)
	return c
}

func admin() (*kafka.AdminClient, error) { return kafka.NewAdminClient(conf(nil)) }

func partitionsOf(a *kafka.AdminClient, t string) (int, error) {
	md, err := a.GetMetadata(&t, false, 10000)
	if err != nil {
		return 0, err
	}
	tm, ok := md.Topics[t]
	if !ok || tm.Error.Code() != kafka.ErrNoError {
		return -1, nil
	}
	return len(tm.Partitions), nil
}

func topicResults(res []kafka.TopicResult, err error) error {
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("%s: %v", r.Topic, r.Error)
		}
	}
	return nil
}

func create(t string, partitions int, cfg map[string]string) error {
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	if err := topicResults(a.CreateTopics(ctx(), []kafka.TopicSpecification{{Topic: t, NumPartitions: partitions, ReplicationFactor: 1, Config: cfg}})); err != nil {
		return fmt.Errorf("CreateTopics: %v", err)
	}
	return waitUntil(20*time.Second, "topic in metadata", func() (bool, error) {
		n, err := partitionsOf(a, t)
		return n == partitions, err
	})
}

type rec struct {
	partition int32
	key       string
	value     string
	headers   map[string]string
	ts        time.Time
}

func produce(t string, recs []rec, extra kafka.ConfigMap) ([]kafka.TopicPartition, error) {
	c := kafka.ConfigMap{"linger.ms": 5}
	for k, v := range extra {
		c[k] = v
	}
	p, err := kafka.NewProducer(conf(c))
	if err != nil {
		return nil, err
	}
	defer p.Close()
	dc := make(chan kafka.Event, len(recs))
	for _, r := range recs {
		m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &t, Partition: r.partition}, Value: []byte(r.value), Timestamp: r.ts}
		if r.key != "" {
			m.Key = []byte(r.key)
		}
		for k, v := range r.headers {
			m.Headers = append(m.Headers, kafka.Header{Key: k, Value: []byte(v)})
		}
		if err := p.Produce(m, dc); err != nil {
			return nil, err
		}
	}
	out := make([]kafka.TopicPartition, 0, len(recs))
	timeout := time.After(30 * time.Second)
	for len(out) < len(recs) {
		select {
		case ev := <-dc:
			m := ev.(*kafka.Message)
			if m.TopicPartition.Error != nil {
				return nil, m.TopicPartition.Error
			}
			out = append(out, m.TopicPartition)
		case <-timeout:
			return nil, fmt.Errorf("%d of %d records acknowledged", len(out), len(recs))
		}
	}
	return out, nil
}

func consumer(g string, extra kafka.ConfigMap) (*kafka.Consumer, error) {
	if g == "" {
		g = prefix + "-unused"
	}
	c := kafka.ConfigMap{"group.id": g, "enable.auto.commit": false, "auto.offset.reset": "earliest"}
	for k, v := range extra {
		c[k] = v
	}
	return kafka.NewConsumer(conf(c))
}

func read(c *kafka.Consumer, n int, d time.Duration) ([]*kafka.Message, error) {
	var out []*kafka.Message
	deadline := time.Now().Add(d)
	for len(out) < n && time.Now().Before(deadline) {
		switch ev := c.Poll(300).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				return nil, ev.TopicPartition.Error
			}
			out = append(out, ev)
		case kafka.Error:
			fmt.Println("consumer error:", ev)
		}
	}
	return out, check(len(out) == n, "read %d of %d records", len(out), n)
}

func readAssigned(t string, starts map[int32]kafka.Offset, n int) ([]*kafka.Message, error) {
	c, err := consumer("", nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	for p, o := range starts {
		tps = append(tps, kafka.TopicPartition{Topic: &t, Partition: p, Offset: o})
	}
	if err := c.Assign(tps); err != nil {
		return nil, err
	}
	return read(c, n, 20*time.Second)
}

// --- scenarios ----------------------------------------------------------------

func metadata() error {
	t := topic("metadata")
	if err := create(t, 3, nil); err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	md, err := a.GetMetadata(nil, true, 10000)
	if err != nil {
		return err
	}
	port, _ := strconv.Atoi(bootstrap[strings.LastIndex(bootstrap, ":")+1:])
	found := false
	for _, b := range md.Brokers {
		found = found || b.Port == port
	}
	if err := check(found, "bootstrap port not among brokers %v", md.Brokers); err != nil {
		return err
	}
	tm := md.Topics[t]
	if err := check(len(tm.Partitions) == 3, "partitions %v", tm.Partitions); err != nil {
		return err
	}
	for _, p := range tm.Partitions {
		if p.Leader < 0 {
			return fmt.Errorf("partition %d without leader", p.ID)
		}
	}
	return nil
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
	acked, err := produce(t, recs, kafka.ConfigMap{"compression.codec": codec})
	if err != nil {
		return err
	}
	for i, tp := range acked {
		if int64(tp.Offset) != int64(i) {
			return fmt.Errorf("acked offset %v for record %d", tp.Offset, i)
		}
	}
	got, err := readAssigned(t, map[int32]kafka.Offset{0: 0}, 50)
	if err != nil {
		return err
	}
	for i, m := range got {
		if int64(m.TopicPartition.Offset) != int64(i) || string(m.Key) != fmt.Sprintf("k%d", i) || string(m.Value) != produceValue(i, codec) {
			return fmt.Errorf("record %d read back as offset %v key %q", i, m.TopicPartition.Offset, m.Key)
		}
		if len(m.Headers) != 1 || m.Headers[0].Key != "idx" || string(m.Headers[0].Value) != strconv.Itoa(i) {
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
	all, err := readAssigned(t, map[int32]kafka.Offset{0: 0, 1: 0, 2: 0}, 30)
	if err != nil {
		return err
	}
	for p := int32(0); p < 3; p++ {
		var vals, want []string
		for _, m := range all {
			if m.TopicPartition.Partition == p {
				vals = append(vals, string(m.Value))
			}
		}
		for i := int(p); i < 30; i += 3 {
			want = append(want, fmt.Sprintf("v%d", i))
		}
		if fmt.Sprint(vals) != fmt.Sprint(want) {
			return fmt.Errorf("partition %d: %v", p, vals)
		}
	}
	mid, err := readAssigned(t, map[int32]kafka.Offset{1: 5}, 5)
	if err != nil {
		return err
	}
	return check(mid[0].TopicPartition.Offset == 5 && string(mid[0].Value) == "v16" && mid[4].TopicPartition.Offset == 9,
		"from offset 5 of partition 1: %v %s", mid[0].TopicPartition.Offset, mid[0].Value)
}

func sortedValues(ms []*kafka.Message) string {
	var v []string
	for _, m := range ms {
		v = append(v, string(m.Value))
	}
	sort.Strings(v)
	return strings.Join(v, ",")
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
	c1, err := consumer(g, nil)
	if err != nil {
		return err
	}
	if err := c1.Subscribe(t, nil); err != nil {
		c1.Close()
		return err
	}
	got, err := read(c1, 10, 30*time.Second)
	if err == nil {
		_, err = c1.Commit()
	}
	var committed []kafka.TopicPartition
	if err == nil {
		committed, err = c1.Committed([]kafka.TopicPartition{{Topic: &t, Partition: 0}, {Topic: &t, Partition: 1}}, 10000)
	}
	c1.Close()
	if err != nil {
		return err
	}
	if err := check(len(got) == 10, "first consumer read %d", len(got)); err != nil {
		return err
	}
	if err := check(len(committed) == 2 && committed[0].Offset == 5 && committed[1].Offset == 5, "committed %v", committed); err != nil {
		return err
	}
	recs = nil
	for i := 0; i < 4; i++ {
		recs = append(recs, rec{partition: int32(i % 2), value: fmt.Sprintf("b%d", i)})
	}
	if _, err := produce(t, recs, nil); err != nil {
		return err
	}
	c2, err := consumer(g, nil)
	if err != nil {
		return err
	}
	defer c2.Close()
	if err := c2.Subscribe(t, nil); err != nil {
		return err
	}
	got, err = read(c2, 4, 30*time.Second)
	if err != nil {
		return err
	}
	if err := check(sortedValues(got) == "b0,b1,b2,b3", "second consumer resumed with %s", sortedValues(got)); err != nil {
		return err
	}
	extra, _ := read(c2, 1, time.Second)
	return check(len(extra) == 0, "more records after the committed ones")
}

func assigned(c *kafka.Consumer) (map[int32]bool, error) {
	c.Poll(100)
	tps, err := c.Assignment()
	out := map[int32]bool{}
	for _, tp := range tps {
		out[tp.Partition] = true
	}
	return out, err
}

func rebalance() error {
	t, g := topic("rebalance"), group("rebalance")
	if err := create(t, 4, nil); err != nil {
		return err
	}
	cfg := kafka.ConfigMap{"heartbeat.interval.ms": 500, "session.timeout.ms": 6000}
	c1, err := consumer(g, cfg)
	if err != nil {
		return err
	}
	defer c1.Close()
	if err := c1.Subscribe(t, nil); err != nil {
		return err
	}
	if err := waitUntil(20*time.Second, "c1 assigned 4 partitions", func() (bool, error) {
		a, err := assigned(c1)
		return len(a) == 4, err
	}); err != nil {
		return err
	}
	c2, err := consumer(g, cfg)
	if err != nil {
		return err
	}
	if err := c2.Subscribe(t, nil); err != nil {
		c2.Close()
		return err
	}
	err = waitUntil(40*time.Second, "2 partitions each", func() (bool, error) {
		a1, err1 := assigned(c1)
		a2, err2 := assigned(c2)
		if err1 != nil {
			return false, err1
		}
		if err2 != nil {
			return false, err2
		}
		union := map[int32]bool{}
		for p := range a1 {
			union[p] = true
		}
		for p := range a2 {
			union[p] = true
		}
		return len(a1) == 2 && len(a2) == 2 && len(union) == 4, nil
	})
	c2.Close() // LeaveGroup
	if err != nil {
		return err
	}
	return waitUntil(40*time.Second, "c1 back to 4 partitions", func() (bool, error) {
		a, err := assigned(c1)
		return len(a) == 4, err
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
	acked, err := produce(t, recs, kafka.ConfigMap{"enable.idempotence": true, "acks": "all"})
	if err != nil {
		return err
	}
	for i, tp := range acked {
		if int64(tp.Offset) != int64(i) {
			return fmt.Errorf("acked offset %v for record %d", tp.Offset, i)
		}
	}
	got, err := readAssigned(t, map[int32]kafka.Offset{0: 0}, 20)
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
	return unsupported("confluent-kafka-go 0.11.6 has no transactions API (added in 1.4)")
}

func adminTopics() error {
	t := topic("admin-topics")
	if err := create(t, 2, map[string]string{"retention.ms": "3600000"}); err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	listed := func() (bool, error) {
		md, err := a.GetMetadata(nil, true, 10000)
		if err != nil {
			return false, err
		}
		_, ok := md.Topics[t]
		return ok, nil
	}
	if ok, err := listed(); err != nil || !ok {
		return fmt.Errorf("created topic not listed (%v)", err)
	}
	if n, err := partitionsOf(a, t); err != nil || n != 2 {
		return fmt.Errorf("described %d partitions (%v)", n, err)
	}
	if err := topicResults(a.DeleteTopics(ctx(), []string{t})); err != nil {
		return fmt.Errorf("DeleteTopics: %v", err)
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
	if err := topicResults(a.CreatePartitions(ctx(), []kafka.PartitionsSpecification{{Topic: t, IncreaseTo: 3}})); err != nil {
		return fmt.Errorf("CreatePartitions: %v", err)
	}
	return waitUntil(20*time.Second, "3 partitions", func() (bool, error) {
		n, err := partitionsOf(a, t)
		return n == 3, err
	})
}

func describe(a *kafka.AdminClient, typ kafka.ResourceType, name string) (map[string]kafka.ConfigEntryResult, error) {
	res, err := a.DescribeConfigs(ctx(), []kafka.ConfigResource{{Type: typ, Name: name}})
	if err != nil {
		return nil, err
	}
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		return nil, fmt.Errorf("DescribeConfigs: %v", res)
	}
	return res[0].Config, nil
}

func adminConfigs() error {
	t := topic("admin-configs")
	if err := create(t, 1, nil); err != nil {
		return err
	}
	a, err := admin()
	if err != nil {
		return err
	}
	defer a.Close()
	cfg, err := describe(a, kafka.ResourceTopic, t)
	if err != nil {
		return err
	}
	if _, ok := cfg["retention.ms"]; !ok {
		return fmt.Errorf("retention.ms missing")
	}
	// 0.11.6 has only the non-incremental AlterConfigs.
	res, err := a.AlterConfigs(ctx(), []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: t,
		Config: []kafka.ConfigEntry{{Name: "retention.ms", Value: "7200000", Operation: kafka.AlterOperationSet}}}})
	if err != nil {
		return err
	}
	if len(res) != 1 || res[0].Error.Code() != kafka.ErrNoError {
		return fmt.Errorf("AlterConfigs: %v", res)
	}
	cfg, err = describe(a, kafka.ResourceTopic, t)
	if err != nil {
		return err
	}
	if v := cfg["retention.ms"].Value; v != "7200000" {
		return fmt.Errorf("retention.ms is %q", v)
	}
	md, err := a.GetMetadata(nil, false, 10000)
	if err != nil {
		return err
	}
	bcfg, err := describe(a, kafka.ResourceBroker, strconv.Itoa(int(md.Brokers[0].ID)))
	if err != nil {
		return err
	}
	_, ok := bcfg["num.partitions"]
	return check(ok, "broker config lacks num.partitions (%d entries)", len(bcfg))
}

func adminGroups() error {
	return unsupported("confluent-kafka-go 0.11.6 has no group admin API (list/describe groups, group offsets)")
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
	c, err := consumer("", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	lo, hi, err := c.QueryWatermarkOffsets(t, 0, 10000)
	if err != nil {
		return err
	}
	if err := check(lo == 0 && hi == 10, "watermarks %d %d", lo, hi); err != nil {
		return err
	}
	res, err := c.OffsetsForTimes([]kafka.TopicPartition{{Topic: &t, Partition: 0, Offset: kafka.Offset(base.Add(5*time.Second).UnixNano() / 1e6)}}, 10000)
	if err != nil {
		return err
	}
	return check(len(res) == 1 && res[0].Offset == 5, "offset for timestamp base+5s: %v", res)
}

func deleteRecords() error {
	return unsupported("confluent-kafka-go 0.11.6 has no DeleteRecords API")
}

func emit(version, scenario, status, reason string, secs float64) {
	b, _ := json.Marshal(map[string]interface{}{
		"client": "confluent-kafka-go", "version": version, "scenario": scenario,
		"status": status, "reason": reason, "seconds": float64(int(secs*100)) / 100,
	})
	fmt.Printf("MATRIX %s\n", b)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: confluent-kafka-go-runner BOOTSTRAP TOPIC_PREFIX")
		os.Exit(2)
	}
	bootstrap, prefix = os.Args[1], os.Args[2]
	_, lib := kafka.LibraryVersion()
	version := "0.11.6"
	if v := os.Getenv("MATRIX_CLIENT_VERSION"); v != "" {
		version = v // the Debian package's, from the driver
	}
	version += ", librdkafka " + lib
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
		fmt.Printf("\n=== confluent-kafka-go: %s ===\n", s.name)
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
			emit(version, s.name, "pass", "", secs)
		case unsupported:
			emit(version, s.name, "unsupported", string(e), secs)
		default:
			fmt.Println(s.name+":", err)
			emit(version, s.name, "fail", err.Error(), secs)
		}
	}
}
