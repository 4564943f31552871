//! The logical types of `org.apache.kafka.connect.data`: Decimal (bytes with a
//! `scale` parameter), Date (int32 days), Time (int32 millis of day) and
//! Timestamp (int64 millis), and their conversions to and from the raw form.

use super::{BigDecimal, DataError, Schema, SchemaBuilder, Value};

pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
pub const DATE: &str = "org.apache.kafka.connect.data.Date";
pub const TIME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
pub const SCALE_FIELD: &str = "scale";
pub const MILLIS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logical {
    Decimal,
    Date,
    Time,
    Timestamp,
}

impl Logical {
    pub fn from_name(name: &str) -> Option<Logical> {
        match name {
            DECIMAL => Some(Logical::Decimal),
            DATE => Some(Logical::Date),
            TIME => Some(Logical::Time),
            TIMESTAMP => Some(Logical::Timestamp),
            _ => None,
        }
    }
}

pub fn decimal_builder(scale: i32) -> SchemaBuilder {
    SchemaBuilder::bytes()
        .name(Some(DECIMAL))
        .parameter(SCALE_FIELD, &scale.to_string())
        .version(Some(1))
}
pub fn date_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(Some(DATE)).version(Some(1))
}
pub fn time_builder() -> SchemaBuilder {
    SchemaBuilder::int32().name(Some(TIME)).version(Some(1))
}
pub fn timestamp_builder() -> SchemaBuilder {
    SchemaBuilder::int64()
        .name(Some(TIMESTAMP))
        .version(Some(1))
}
pub fn date_schema() -> Schema {
    date_builder().build()
}
pub fn time_schema() -> Schema {
    time_builder().build()
}
pub fn timestamp_schema() -> Schema {
    timestamp_builder().build()
}

pub fn decimal_scale(schema: &Schema) -> Result<i32, DataError> {
    let raw = schema
        .parameter(SCALE_FIELD)
        .ok_or_else(|| DataError::new("Invalid Decimal schema: scale parameter not found."))?;
    raw.parse::<i32>().map_err(|_| {
        DataError::new(format!(
            "Invalid scale parameter found in Decimal schema: {raw}"
        ))
    })
}

/// `Decimal.fromLogical`: the unscaled bytes; the scale must match the schema.
pub fn decimal_from_logical(schema: &Schema, d: &BigDecimal) -> Result<Vec<u8>, DataError> {
    if d.scale() != decimal_scale(schema)? {
        return Err(DataError::new(
            "Decimal value has mismatching scale for given Decimal schema",
        ));
    }
    Ok(d.unscaled_bytes())
}

pub fn decimal_to_logical(schema: &Schema, bytes: &[u8]) -> Result<BigDecimal, DataError> {
    Ok(BigDecimal::from_unscaled_bytes(
        bytes,
        decimal_scale(schema)?,
    ))
}

/// `Date.fromLogical`: whole days; a time-of-day part is an error.
pub fn date_from_logical(millis: i64) -> Result<i32, DataError> {
    if millis.rem_euclid(MILLIS_PER_DAY) != 0 {
        return Err(DataError::new(
            "Kafka Connect Date type should not have any time fields set to non-zero values.",
        ));
    }
    Ok((millis / MILLIS_PER_DAY) as i32)
}

pub fn date_to_logical(days: i32) -> i64 {
    days as i64 * MILLIS_PER_DAY
}

/// `Time.fromLogical`: millis within the first day of the epoch.
pub fn time_from_logical(millis: i64) -> Result<i32, DataError> {
    if !(0..=MILLIS_PER_DAY).contains(&millis) {
        return Err(DataError::new(
            "Kafka Connect Time type should not have any date fields set to non-zero values.",
        ));
    }
    Ok(millis as i32)
}

pub fn time_to_logical(millis: i32) -> Result<i64, DataError> {
    if millis < 0 || millis as i64 > MILLIS_PER_DAY {
        return Err(DataError::new(
            "Time values must use number of milliseconds greater than 0 and less than 86400000",
        ));
    }
    Ok(millis as i64)
}

/// The raw (non-logical) value of a logical value, as `Cast` encodes it
/// before narrowing: Date → int days, Time → int millis, Timestamp → long.
pub fn encode_logical(schema: &Schema, value: &Value) -> Result<Value, DataError> {
    let Value::Date(ms) = value else {
        return Ok(value.clone());
    };
    match schema.name().and_then(Logical::from_name) {
        Some(Logical::Date) => Ok(Value::Int32(date_from_logical(*ms)?)),
        Some(Logical::Time) => Ok(Value::Int32(time_from_logical(*ms)?)),
        Some(Logical::Timestamp) => Ok(Value::Int64(*ms)),
        _ => Ok(value.clone()),
    }
}
