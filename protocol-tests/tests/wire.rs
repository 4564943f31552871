//! Raw-socket conversations with the real binary: framing, versions,
//! correlation ids and the quirks old clients depend on.

use std::io::Write;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use protocol_tests::{BrokerProcess, RawClient};
use tributary_broker::handlers::SUPPORTED;

fn api_versions(version: i16) -> RequestKind {
    let mut r = ApiVersionsRequest::default();
    if version >= 3 {
        r.client_software_name = StrBytes::from_static_str("protocol-tests");
        r.client_software_version = StrBytes::from_static_str("1.0");
    }
    RequestKind::ApiVersions(r)
}

#[test]
fn api_versions_lists_exactly_the_supported_table_at_every_version() {
    let broker = BrokerProcess::start();
    let mut c = RawClient::connect(&broker.bootstrap());
    for v in 0..=4 {
        let (_, resp) = c.call(ApiKey::ApiVersions, v, api_versions(v));
        let ResponseKind::ApiVersions(r) = resp else { panic!("wrong response kind") };
        assert_eq!(r.error_code, 0);
        let got: Vec<(i16, i16, i16)> = r.api_keys.iter().map(|k| (k.api_key, k.min_version, k.max_version)).collect();
        let want: Vec<(i16, i16, i16)> = SUPPORTED.iter().map(|(k, lo, hi)| (*k as i16, *lo, *hi)).collect();
        assert_eq!(got, want, "v{v}");
        let produce = r.api_keys.iter().find(|k| k.api_key == 0).expect("produce listed");
        assert_eq!(produce.min_version, 0, "Produce advertised from v0 (KAFKA-18659)");
    }
}

#[test]
fn api_versions_v3_response_has_v0_header_and_no_default_tagged_fields() {
    let broker = BrokerProcess::start();
    let mut c = RawClient::connect(&broker.bootstrap());
    c.send_raw(&RawClient::frame(ApiKey::ApiVersions, 3, 77, &api_versions(3))).unwrap();
    let frame = c.read_frame().unwrap();
    // Header v0: just the correlation id, no tagged-field byte.
    assert_eq!(&frame[..4], &77i32.to_be_bytes());
    // Body: error_code(2) + compact array length + n * (key, min, max, tags=0) + throttle(4) + tags.
    let n = SUPPORTED.len();
    assert_eq!(frame[4..6], [0, 0], "error code 0");
    assert_eq!(frame[6] as usize, n + 1, "compact array length");
    let expected_len = 4 + 2 + 1 + n * 7 + 4 + 1;
    assert_eq!(frame.len(), expected_len, "no supported/finalized feature tagged fields at defaults");
    assert_eq!(*frame.last().unwrap(), 0, "zero top-level tagged fields");
}

#[test]
fn unsupported_api_versions_version_gets_kip511_fallback() {
    let broker = BrokerProcess::start();
    let mut c = RawClient::connect(&broker.bootstrap());
    // A version from the future, with a body we don't even try to parse.
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    buf.put_i16(18); // ApiVersions
    buf.put_i16(99);
    buf.put_i32(5);
    buf.put_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    c.send_raw(&buf).unwrap();
    let mut frame = c.read_frame().unwrap();
    assert_eq!(&frame[..4], &5i32.to_be_bytes());
    let body = frame.split_off(4);
    let mut b = body;
    let resp = <kafka_protocol::messages::ApiVersionsResponse as kafka_protocol::protocol::Decodable>::decode(&mut b, 0).unwrap();
    assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");
    assert_eq!(resp.api_keys.len(), SUPPORTED.len());
    // The connection stays usable.
    let (_, r) = c.call(ApiKey::ApiVersions, 0, api_versions(0));
    assert!(matches!(r, ResponseKind::ApiVersions(_)));
}

#[test]
fn produce_v2_is_answered_unsupported_version() {
    let broker = BrokerProcess::start();
    let mut c = RawClient::connect(&broker.bootstrap());
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    buf.put_i16(0); // Produce
    buf.put_i16(2);
    buf.put_i32(9);
    buf.put_i16(4);
    buf.put_slice(b"test");
    buf.put_i16(1); // acks
    buf.put_i32(1000);
    buf.put_i32(1); // topics
    buf.put_i16(1);
    buf.put_slice(b"t");
    buf.put_i32(1); // partitions
    buf.put_i32(0);
    buf.put_i32(3);
    buf.put_slice(&[1, 2, 3]);
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    c.send_raw(&buf).unwrap();
    let frame = c.read_frame().unwrap();
    // correlation, [topics=1, "t", [partitions=1, 0, error, base_offset, log_append_time]], throttle
    let mut expected = BytesMut::new();
    expected.put_i32(9);
    expected.put_i32(1);
    expected.put_i16(1);
    expected.put_slice(b"t");
    expected.put_i32(1);
    expected.put_i32(0);
    expected.put_i16(35);
    expected.put_i64(-1);
    expected.put_i64(-1);
    expected.put_i32(0);
    assert_eq!(&frame[..], &expected[..]);
}

#[test]
fn oversize_and_garbage_frames_close_only_their_connection() {
    let broker = BrokerProcess::start_with(&["socket.request.max.bytes=1000"]);
    let mut good = RawClient::connect(&broker.bootstrap());
    let mut bad = RawClient::connect(&broker.bootstrap());
    bad.send_raw(&100_000i32.to_be_bytes()).unwrap();
    assert!(bad.is_closed(), "oversize frame closes the connection");
    let mut neg = RawClient::connect(&broker.bootstrap());
    neg.send_raw(&(-5i32).to_be_bytes()).unwrap();
    assert!(neg.is_closed(), "negative size closes the connection");
    let mut unknown = RawClient::connect(&broker.bootstrap());
    unknown.send_raw(&[0, 0, 0, 8, 0x7f, 0x00, 0, 0, 0, 0, 0, 1]).unwrap();
    assert!(unknown.is_closed(), "unknown API key closes the connection");
    let mut garbage = RawClient::connect(&broker.bootstrap());
    // Metadata v12 with a truncated body.
    garbage.send_raw(&[0, 0, 0, 12, 0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0x05, 0x80]).unwrap();
    assert!(garbage.is_closed(), "undecodable body closes the connection");
    let mut half = RawClient::connect(&broker.bootstrap());
    half.send_raw(&[0, 0, 0, 50, 0, 18]).unwrap();
    drop(half); // client goes away mid-request
    let (_, r) = good.call(ApiKey::ApiVersions, 3, api_versions(3));
    assert!(matches!(r, ResponseKind::ApiVersions(_)), "other connections unaffected");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let broker = BrokerProcess::start();
    let mut c = RawClient::connect(&broker.bootstrap());
    let mut all = Vec::new();
    for cid in 100..120 {
        let mut m = MetadataRequest::default();
        let mut t = MetadataRequestTopic::default();
        t.name = Some(TopicName(StrBytes::from_string(format!("pipe-{}", cid % 3))));
        m.topics = Some(vec![t]);
        m.allow_auto_topic_creation = true;
        let v = if cid % 2 == 0 { 12 } else { 1 };
        all.extend_from_slice(&RawClient::frame(ApiKey::Metadata, v, cid, &RequestKind::Metadata(m)));
    }
    c.stream.write_all(&all).unwrap();
    for cid in 100..120 {
        let frame = c.read_frame().unwrap();
        // Metadata v9+ uses header v1 (tagged fields after the id); id first either way.
        assert_eq!(i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]), cid);
    }
}
