//! The schema mapping both ways, value round trips through real protobuf
//! bytes, and the framing, without a registry.

use std::collections::HashMap;

use prost::Message;
use prost_reflect::{DynamicMessage, Kind};

use super::connect_schema::{field_params, to_connect_schema};
use super::proto_schema::{from_connect_schema, map_entry_name, map_field_name, scrub_name};
use super::*;
use crate::data::logical;
use crate::data::{BigDecimal, SchemaBuilder, Struct, Type};

fn compiled(text: &str) -> prost_reflect::DescriptorPool {
    known::compile(text, &HashMap::new()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn ratings_schema() -> Schema {
    let mut b = SchemaBuilder::struct_().name(Some("ksql.ratings"));
    for (n, t) in [
        ("rating_id", Type::Int64),
        ("user_id", Type::Int32),
        ("stars", Type::Int32),
        ("route_id", Type::Int32),
        ("rating_time", Type::Int64),
        ("channel", Type::String),
        ("message", Type::String),
    ] {
        b = b.field(n, Schema::of(t)).unwrap();
    }
    b.build()
}

/// Encodes through the generated schema and decodes through the descriptor
/// compiled from the same text, as a sink reading a source's topic would.
fn round_trip(schema: &Schema, value: &Value, opts: &Options) -> (Schema, Value, Vec<u8>) {
    let proto = from_connect_schema(schema, opts).unwrap();
    let pool = compiled(&proto.text);
    let desc = pool.get_message_by_name(&proto.full_name).unwrap();
    let msg = data::from_connect(schema, value, &desc, opts).unwrap();
    let bytes = msg.encode_to_vec();
    let back = DynamicMessage::decode(desc.clone(), bytes.as_slice()).unwrap();
    let back_schema = to_connect_schema(&desc, None, opts).unwrap();
    let back_value = data::to_connect(&back_schema, &back).unwrap();
    (back_schema, back_value, bytes)
}

#[test]
fn ratings_schema_text_is_confluents() {
    let proto = from_connect_schema(&ratings_schema(), &Options::default()).unwrap();
    assert_eq!(
        proto.text,
        "syntax = \"proto3\";\npackage ksql;\n\nmessage ratings {\n  int64 rating_id = 1;\n  \
         int32 user_id = 2;\n  int32 stars = 3;\n  int32 route_id = 4;\n  int64 rating_time = 5;\n  \
         string channel = 6;\n  string message = 7;\n}\n"
    );
    assert_eq!(proto.full_name, "ksql.ratings");
    assert_eq!(proto.indexes, vec![0]);
    assert!(proto.imports.is_empty());
    compiled(&proto.text);
}

#[test]
fn unnamed_structs_maps_arrays_and_logical_types() {
    let address = SchemaBuilder::struct_()
        .field("city", Schema::of(Type::String))
        .unwrap()
        .build();
    let named = SchemaBuilder::struct_()
        .name(Some("acme.item"))
        .field("sku", Schema::of(Type::String))
        .unwrap()
        .build();
    let schema = SchemaBuilder::struct_()
        .field("small", Schema::of(Type::Int8))
        .unwrap()
        .field("address", address)
        .unwrap()
        .field(
            "tags",
            SchemaBuilder::map(Schema::of(Type::String), Schema::of(Type::Int64)).build(),
        )
        .unwrap()
        .field(
            "scores",
            SchemaBuilder::array(Schema::of(Type::Float64)).build(),
        )
        .unwrap()
        .field("item", named)
        .unwrap()
        .field(
            "price",
            logical::decimal_builder(2)
                .parameter("connect.decimal.precision", "4")
                .build(),
        )
        .unwrap()
        .field("day", logical::date_schema())
        .unwrap()
        .field("at", logical::time_schema())
        .unwrap()
        .field("ts", logical::timestamp_schema())
        .unwrap()
        .field("maybe", Schema::optional_of(Type::String))
        .unwrap()
        .build();
    let proto = from_connect_schema(&schema, &Options::default()).unwrap();
    assert_eq!(proto.full_name, "ConnectDefault1");
    assert_eq!(
        proto.text,
        r#"syntax = "proto3";

import "confluent/meta.proto";
import "confluent/type/decimal.proto";
import "google/type/date.proto";
import "google/type/timeofday.proto";
import "google/protobuf/timestamp.proto";

message ConnectDefault1 {
  int32 small = 1 [(confluent.field_meta) = { params: [{ key: "connect.type", value: "int8" }] }];
  ConnectDefault2 address = 2;
  repeated ConnectDefault3Entry tags = 3;
  repeated double scores = 4;
  itemMessage item = 5;
  confluent.type.Decimal price = 6 [(confluent.field_meta) = { params: [{ key: "precision", value: "4" }, { key: "scale", value: "2" }] }];
  google.type.Date day = 7;
  google.type.TimeOfDay at = 8;
  google.protobuf.Timestamp ts = 9;
  string maybe = 10;

  message ConnectDefault2 {
    string city = 1;
  }

  message ConnectDefault3Entry {
    string key = 1;
    int64 value = 2;
  }

  message itemMessage {
    string sku = 1;
  }
}
"#
    );
    assert_eq!(
        proto.imports,
        vec![
            known::META,
            known::DECIMAL,
            known::DATE,
            known::TIME_OF_DAY,
            known::TIMESTAMP
        ]
    );

    // It compiles, and the metadata reads back from the descriptor.
    let pool = compiled(&proto.text);
    let desc = pool.get_message_by_name("ConnectDefault1").unwrap();
    let small = desc.get_field_by_name("small").unwrap();
    assert_eq!(
        field_params(&small),
        vec![("connect.type".to_string(), "int8".to_string())]
    );

    // Values survive the trip through protobuf bytes.
    let mut st = Struct::new(&schema);
    let a = schema.field("address").unwrap().schema.clone();
    let mut addr = Struct::new(&a);
    addr.put("city", Value::str("Oslo")).unwrap();
    let i = schema.field("item").unwrap().schema.clone();
    let mut item = Struct::new(&i);
    item.put("sku", Value::str("X-1")).unwrap();
    st.put("small", Value::Int8(-7)).unwrap();
    st.put("address", Value::Struct(addr)).unwrap();
    st.put(
        "tags",
        Value::Map(vec![
            (Value::str("a"), Value::Int64(1)),
            (Value::str("b"), Value::Int64(-2)),
        ]),
    )
    .unwrap();
    st.put(
        "scores",
        Value::Array(vec![Value::Float64(1.5), Value::Float64(-0.25)]),
    )
    .unwrap();
    st.put("item", Value::Struct(item)).unwrap();
    st.put("price", Value::Decimal(BigDecimal::parse("12.34").unwrap()))
        .unwrap();
    st.put("day", Value::Date(19_000 * logical::MILLIS_PER_DAY))
        .unwrap();
    st.put("at", Value::Date(45_296_789)).unwrap();
    st.put("ts", Value::Date(1_519_304_105_213)).unwrap();
    let (bs, bv, _) = round_trip(&schema, &Value::Struct(st), &Options::default());
    let Value::Struct(b) = bv else { panic!() };
    assert_eq!(bs.name(), Some("ConnectDefault1"));
    assert_eq!(bs.field("small").unwrap().schema.ty(), Type::Int8);
    assert_eq!(b.get("small").unwrap(), Value::Int8(-7));
    let Value::Struct(addr) = b.get("address").unwrap() else {
        panic!()
    };
    assert_eq!(addr.get("city").unwrap(), Value::str("Oslo"));
    assert_eq!(
        bs.field("tags").unwrap().schema.name(),
        Some("connect_default3")
    );
    assert_eq!(
        b.get("tags").unwrap(),
        Value::Map(vec![
            (Value::str("a"), Value::Int64(1)),
            (Value::str("b"), Value::Int64(-2)),
        ])
    );
    assert_eq!(
        b.get("scores").unwrap(),
        Value::Array(vec![Value::Float64(1.5), Value::Float64(-0.25)])
    );
    let ps = &bs.field("price").unwrap().schema;
    assert_eq!(ps.name(), Some(logical::DECIMAL));
    assert_eq!(ps.parameter("scale"), Some("2"));
    assert_eq!(ps.parameter("connect.decimal.precision"), Some("4"));
    assert_eq!(
        b.get("price").unwrap(),
        Value::Decimal(BigDecimal::parse("12.34").unwrap())
    );
    assert_eq!(
        b.get("day").unwrap(),
        Value::Date(19_000 * logical::MILLIS_PER_DAY)
    );
    assert_eq!(b.get("at").unwrap(), Value::Date(45_296_789));
    assert_eq!(b.get("ts").unwrap(), Value::Date(1_519_304_105_213));
    // An unset proto3 string reads back as "", as Confluent's converter gives it.
    assert_eq!(b.get("maybe").unwrap(), Value::str(""));
    // Every field comes back optional and tagged with its number.
    let f = &bs.field("scores").unwrap().schema;
    assert!(f.is_optional() && f.ty() == Type::Array);
    assert_eq!(f.parameter(proto_schema::TAG), Some("4"));
}

#[test]
fn golden_bytes_and_field_numbers() {
    let schema = SchemaBuilder::struct_()
        .name(Some("t"))
        .field("a", Schema::of(Type::Int64))
        .unwrap()
        .field(
            "b",
            SchemaBuilder::string()
                .parameter(proto_schema::TAG, "7")
                .build(),
        )
        .unwrap()
        .field("c", Schema::of(Type::Int32))
        .unwrap()
        .build();
    let mut st = Struct::new(&schema);
    st.put("a", Value::Int64(150)).unwrap();
    st.put("b", Value::str("hi")).unwrap();
    st.put("c", Value::Int32(0)).unwrap();
    let (_, _, bytes) = round_trip(&schema, &Value::Struct(st), &Options::default());
    // Field 1 varint 150; field 7 "hi"; c = 0 is proto3's default and not written.
    assert_eq!(bytes, vec![0x08, 0x96, 0x01, 0x3a, 0x02, b'h', b'i']);
    let proto = from_connect_schema(&schema, &Options::default()).unwrap();
    assert!(proto.text.contains("string b = 7;\n  int32 c = 2;"));
}

#[test]
fn oneofs_enums_and_unsigned_types_survive_both_directions() {
    let text = r#"syntax = "proto3";
package shop;

message Order {
  uint32 qty = 1;
  sint64 delta = 2;
  Status status = 3;
  oneof payment {
    string card = 4;
    int64 voucher = 5;
  }
  map<string, int32> counts = 6;
  repeated Line lines = 7;
  optional string note = 8;

  message Line {
    string sku = 1;
  }
  enum Status {
    NEW = 0;
    SHIPPED = 2;
  }
}
"#;
    let pool = compiled(text);
    let desc = pool.get_message_by_name("shop.Order").unwrap();
    let opts = Options::default();
    let schema = to_connect_schema(&desc, Some(3), &opts).unwrap();
    assert_eq!(schema.name(), Some("Order"));
    assert_eq!(schema.version(), Some(3));
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "payment_0",
            "qty",
            "delta",
            "status",
            "counts",
            "lines",
            "note"
        ]
    );
    let union = &schema.field("payment_0").unwrap().schema;
    assert_eq!(
        union.name(),
        Some("io.confluent.connect.protobuf.Union.payment")
    );
    let qty = &schema.field("qty").unwrap().schema;
    assert_eq!(qty.ty(), Type::Int64);
    assert_eq!(qty.parameter(proto_schema::PROTO_TYPE), Some("uint32"));
    let status = &schema.field("status").unwrap().schema;
    assert_eq!(status.name(), Some("Status"));
    assert_eq!(
        status.parameter("io.confluent.connect.protobuf.Enum.SHIPPED"),
        Some("2")
    );
    assert_eq!(schema.field("counts").unwrap().schema.ty(), Type::Map);

    // A message written by another client reads into Connect data ...
    let mut m = DynamicMessage::new(desc.clone());
    m.set_field_by_name("qty", prost_reflect::Value::U32(4_000_000_000));
    m.set_field_by_name("delta", prost_reflect::Value::I64(-3));
    m.set_field_by_name("status", prost_reflect::Value::EnumNumber(2));
    m.set_field_by_name("voucher", prost_reflect::Value::I64(99));
    let v = data::to_connect(&schema, &m).unwrap();
    let Value::Struct(st) = &v else { panic!() };
    assert_eq!(st.get("qty").unwrap(), Value::Int64(4_000_000_000));
    assert_eq!(st.get("status").unwrap(), Value::str("SHIPPED"));
    let Value::Struct(u) = st.get("payment_0").unwrap() else {
        panic!()
    };
    assert_eq!(u.get("voucher").unwrap(), Value::Int64(99));
    assert_eq!(u.get("card").unwrap(), Value::Null);
    // proto3 `optional` unset is null; plain scalars read as defaults.
    assert_eq!(st.get("note").unwrap(), Value::Null);
    assert_eq!(st.get("counts").unwrap(), Value::Map(vec![]));

    // ... and that Connect schema generates a schema with the same tags,
    // types, oneof and enum, which encodes the value to the same bytes.
    let regenerated = from_connect_schema(&schema, &opts).unwrap();
    assert!(
        regenerated.text.contains("uint32 qty = 1;"),
        "{}",
        regenerated.text
    );
    assert!(regenerated.text.contains("sint64 delta = 2;"));
    assert!(regenerated.text.contains("Status status = 3;"));
    assert!(regenerated
        .text
        .contains("oneof payment {\n    string card = 4;\n    int64 voucher = 5;\n  }"));
    assert!(regenerated
        .text
        .contains("enum Status {\n    NEW = 0;\n    SHIPPED = 2;\n  }"));
    let pool2 = compiled(&regenerated.text);
    let desc2 = pool2.get_message_by_name(&regenerated.full_name).unwrap();
    let again = data::from_connect(&schema, &v, &desc2, &opts).unwrap();
    // The original sets `counts`/`lines` nowhere and neither does the copy.
    assert_eq!(again.encode_to_vec(), m.encode_to_vec());
}

#[test]
fn primitive_roots_are_wrapper_messages() {
    let opts = Options::default();
    let proto = from_connect_schema(&Schema::of(Type::String), &opts).unwrap();
    assert_eq!(proto.full_name, "google.protobuf.StringValue");
    assert_eq!(proto.indexes, vec![7]);
    let pool = compiled(&proto.text);
    let file = pool.get_file_by_name(known::MAIN_FILE).unwrap();
    let desc = message_at(&file, &proto.indexes).unwrap();
    assert_eq!(desc.full_name(), "google.protobuf.StringValue");
    let msg =
        data::from_connect(&Schema::of(Type::String), &Value::str("x"), &desc, &opts).unwrap();
    assert_eq!(msg.encode_to_vec(), vec![0x0a, 1, b'x']);
    let schema = to_connect_schema(&desc, None, &opts).unwrap();
    assert_eq!(schema, Schema::of(Type::String));
    assert_eq!(data::to_connect(&schema, &msg).unwrap(), Value::str("x"));
    let p64 = from_connect_schema(&Schema::of(Type::Int64), &opts).unwrap();
    assert_eq!(p64.indexes, vec![2]);
    // Arrays and maps have no root message.
    assert!(from_connect_schema(
        &SchemaBuilder::array(Schema::of(Type::Int32)).build(),
        &opts
    )
    .is_err());
}

#[test]
fn nullable_options_use_optional_labels_or_wrappers() {
    let schema = SchemaBuilder::struct_()
        .name(Some("n"))
        .field("a", Schema::optional_of(Type::Int32))
        .unwrap()
        .field("b", Schema::of(Type::String))
        .unwrap()
        .build();
    let mut st = Struct::new(&schema);
    st.put("b", Value::str("x")).unwrap();
    let value = Value::Struct(st);

    let opt = Options {
        optional_for_nullables: true,
        ..Options::default()
    };
    let proto = from_connect_schema(&schema, &opt).unwrap();
    assert!(
        proto
            .text
            .contains("optional int32 a = 1;\n  string b = 2;"),
        "{}",
        proto.text
    );
    let (bs, bv, _) = round_trip(&schema, &value, &opt);
    assert!(bs.field("a").unwrap().schema.is_optional());
    assert!(!bs.field("b").unwrap().schema.is_optional());
    let Value::Struct(b) = bv else { panic!() };
    assert_eq!(b.get("a").unwrap(), Value::Null);

    let wrap = Options {
        wrapper_for_nullables: true,
        ..Options::default()
    };
    let proto = from_connect_schema(&schema, &wrap).unwrap();
    assert!(proto
        .text
        .contains("import \"google/protobuf/wrappers.proto\";"));
    assert!(
        proto.text.contains("google.protobuf.Int32Value a = 1;"),
        "{}",
        proto.text
    );
    let mut st = Struct::new(&schema);
    st.put("a", Value::Int32(0)).unwrap();
    st.put("b", Value::str("x")).unwrap();
    let (bs, bv, bytes) = round_trip(&schema, &Value::Struct(st), &wrap);
    // A wrapped zero is still written: presence is what the wrapper is for.
    assert_eq!(&bytes[..2], &[0x0a, 0x00]);
    assert_eq!(bs.field("a").unwrap().schema.ty(), Type::Int32);
    let Value::Struct(b) = bv else { panic!() };
    assert_eq!(b.get("a").unwrap(), Value::Int32(0));
}

#[test]
fn names_are_mapped_like_confluent() {
    assert_eq!(scrub_name("ok_name1"), "ok_name1");
    assert_eq!(scrub_name("1abc"), "x1abc");
    assert_eq!(scrub_name("_x"), "x_x");
    assert_eq!(scrub_name("a-b c"), "a_b_c");
    assert_eq!(scrub_name("é"), "_C3_A9");
    assert_eq!(map_entry_name("ConnectDefault3"), "ConnectDefault3Entry");
    assert_eq!(map_entry_name("my_map"), "MyMapEntry");
    assert_eq!(map_field_name("MyMapEntry"), "my_map");
    assert_eq!(map_field_name("a.b.CountsEntry"), "a.b.counts");
    let schema = SchemaBuilder::struct_()
        .name(Some("a.b.my-rec"))
        .field("bad name", Schema::of(Type::Int32))
        .unwrap()
        .build();
    let opts = Options {
        scrub_invalid_names: true,
        ..Options::default()
    };
    let proto = from_connect_schema(&schema, &opts).unwrap();
    assert_eq!(proto.full_name, "a.b.my_rec");
    assert!(proto.text.contains("int32 bad_name = 1;"));
    let mut st = Struct::new(&schema);
    st.put("bad name", Value::Int32(5)).unwrap();
    let (bs, _, _) = round_trip(&schema, &Value::Struct(st), &opts);
    assert_eq!(bs.name(), Some("my_rec"));
    // Enhanced support keeps the package in Connect names.
    let pool = compiled(&proto.text);
    let desc = pool.get_message_by_name("a.b.my_rec").unwrap();
    let enhanced = Options {
        enhanced: true,
        ..Options::default()
    };
    assert_eq!(
        to_connect_schema(&desc, None, &enhanced).unwrap().name(),
        Some("a.b.my_rec")
    );
}

#[test]
fn unsupported_shapes_are_errors_not_panics() {
    let nested_arrays = SchemaBuilder::struct_()
        .field(
            "x",
            SchemaBuilder::array(SchemaBuilder::array(Schema::of(Type::Int32)).build()).build(),
        )
        .unwrap()
        .build();
    assert!(from_connect_schema(&nested_arrays, &Options::default()).is_err());
    let pool = compiled("syntax = \"proto3\"; message R { R next = 1; int32 v = 2; }");
    let desc = pool.get_message_by_name("R").unwrap();
    assert!(to_connect_schema(&desc, None, &Options::default()).is_err());
    // Garbage after a valid frame header does not decode.
    let schema = ratings_schema();
    let proto = from_connect_schema(&schema, &Options::default()).unwrap();
    let pool = compiled(&proto.text);
    let desc = pool.get_message_by_name("ksql.ratings").unwrap();
    assert!(DynamicMessage::decode(desc, &[0x08, 0x96][..]).is_err());
    assert!(matches!(
        pool.get_message_by_name("ksql.ratings")
            .unwrap()
            .get_field_by_name("channel")
            .unwrap()
            .kind(),
        Kind::String
    ));
}

#[test]
fn message_indexes_skip_synthetic_map_entries() {
    let pool = compiled(
        r#"syntax = "proto3"; package p;
           message A { map<string, string> m = 1; message B { } message C { message D { } } }
           message E { }"#,
    );
    let file = pool.get_file_by_name(known::MAIN_FILE).unwrap();
    assert_eq!(index_path(&file, "p.A"), Some(vec![0]));
    assert_eq!(index_path(&file, "p.E"), Some(vec![1]));
    assert_eq!(index_path(&file, "p.A.C.D"), Some(vec![0, 1, 0]));
    assert_eq!(
        message_at(&file, &[0, 1, 0]).unwrap().full_name(),
        "p.A.C.D"
    );
    assert_eq!(message_at(&file, &[0, 0]).unwrap().full_name(), "p.A.B");
    assert!(message_at(&file, &[5]).is_none());
    assert!(message_at(&file, &[-1]).is_none());
}

#[test]
fn converter_builds_from_worker_settings() {
    let mut props = crate::config::Props::new();
    assert!(super::super::build(
        "io.confluent.connect.protobuf.ProtobufConverter",
        &props,
        false
    )
    .is_err());
    props.insert("schema.registry.url".into(), "http://localhost:1".into());
    props.insert("wrapper.for.nullables".into(), "true".into());
    let c = ProtobufConverterConfig::parse(&props, false).unwrap();
    assert!(c.options.wrapper_for_nullables && c.skip_known_types);
    assert!(super::super::build("ProtobufConverter", &props, true).is_ok());
    assert!(super::super::is_known(
        "io.confluent.connect.protobuf.ProtobufConverter"
    ));
    // Tombstones need no registry.
    let conv = c.build();
    assert_eq!(conv.from_connect("t", None, &Value::Null).unwrap(), None);
    assert_eq!(conv.to_connect("t", None).unwrap(), SchemaAndValue::null());
    let err = conv.to_connect("t", Some(&[1, 2, 3])).unwrap_err();
    assert!(
        err.message.contains("Unknown magic byte"),
        "{}",
        err.message
    );
}

#[test]
fn proto2_optional_fields_unset_read_as_null() {
    let pool =
        compiled("syntax = \"proto2\"; message P { optional int32 a = 1; required string b = 2; }");
    let desc = pool.get_message_by_name("P").unwrap();
    let schema = to_connect_schema(&desc, None, &Options::default()).unwrap();
    let mut m = DynamicMessage::new(desc);
    m.set_field_by_name("b", prost_reflect::Value::String("x".into()));
    let Value::Struct(st) = data::to_connect(&schema, &m).unwrap() else {
        panic!()
    };
    assert_eq!(st.get("a").unwrap(), Value::Null);
    assert_eq!(st.get("b").unwrap(), Value::str("x"));
}
