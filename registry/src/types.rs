//! Small value types shared by the REST layer, the store and the formats:
//! schema types, compatibility levels, modes and schema references, with the
//! names Confluent uses on the wire.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaType {
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    pub const ALL: [SchemaType; 3] = [SchemaType::Json, SchemaType::Protobuf, SchemaType::Avro];

    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }

    /// Confluent leaves `schemaType` out for Avro, the original default.
    pub fn wire(self) -> Option<&'static str> {
        (self != SchemaType::Avro).then_some(self.as_str())
    }

    /// Parses a `schemaType` field; absent means AVRO. Case-insensitive, as
    /// Confluent upper-cases before looking the provider up.
    pub fn parse(s: Option<&str>) -> Option<SchemaType> {
        match s.map(|s| s.to_ascii_uppercase()) {
            None => Some(SchemaType::Avro),
            Some(s) if s == "AVRO" => Some(SchemaType::Avro),
            Some(s) if s == "JSON" => Some(SchemaType::Json),
            Some(s) if s == "PROTOBUF" => Some(SchemaType::Protobuf),
            Some(_) => None,
        }
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompatibilityLevel {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether every earlier version is checked, not just the latest.
    pub fn transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }

    /// The new schema must read data written with the old one.
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// The old schema must read data written with the new one.
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }
}

impl FromStr for CompatibilityLevel {
    type Err = ();

    /// Case-insensitive, like Confluent's `CompatibilityLevel.forName`.
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "NONE" => CompatibilityLevel::None,
            "BACKWARD" => CompatibilityLevel::Backward,
            "BACKWARD_TRANSITIVE" => CompatibilityLevel::BackwardTransitive,
            "FORWARD" => CompatibilityLevel::Forward,
            "FORWARD_TRANSITIVE" => CompatibilityLevel::ForwardTransitive,
            "FULL" => CompatibilityLevel::Full,
            "FULL_TRANSITIVE" => CompatibilityLevel::FullTransitive,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    ReadWrite,
    ReadOnly,
    /// Like READONLY but also refuses config and mode changes below it.
    ReadOnlyOverride,
    Import,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }

    pub fn is_read_only(self) -> bool {
        matches!(self, Mode::ReadOnly | Mode::ReadOnlyOverride)
    }
}

impl FromStr for Mode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "READWRITE" => Mode::ReadWrite,
            "READONLY" => Mode::ReadOnly,
            "READONLY_OVERRIDE" => Mode::ReadOnlyOverride,
            "IMPORT" => Mode::Import,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named pointer from one schema to a version of another subject, in
/// Confluent's JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for l in [
            "none",
            "Backward",
            "BACKWARD_TRANSITIVE",
            "forward",
            "forward_transitive",
            "FULL",
            "full_transitive",
        ] {
            let level: CompatibilityLevel = l.parse().expect(l);
            assert_eq!(level.as_str(), l.to_ascii_uppercase());
        }
        assert!("sideways".parse::<CompatibilityLevel>().is_err());
        assert_eq!("import".parse::<Mode>(), Ok(Mode::Import));
        assert!("WRITEONLY".parse::<Mode>().is_err());
        assert_eq!(SchemaType::parse(None), Some(SchemaType::Avro));
        assert_eq!(
            SchemaType::parse(Some("protobuf")),
            Some(SchemaType::Protobuf)
        );
        assert_eq!(SchemaType::parse(Some("XML")), None);
        assert_eq!(SchemaType::Avro.wire(), None);
    }

    #[test]
    fn level_semantics() {
        assert!(
            CompatibilityLevel::Full.checks_backward() && CompatibilityLevel::Full.checks_forward()
        );
        assert!(!CompatibilityLevel::Backward.checks_forward());
        assert!(CompatibilityLevel::ForwardTransitive.transitive());
        assert!(
            !CompatibilityLevel::None.checks_backward()
                && !CompatibilityLevel::None.checks_forward()
        );
    }
}
