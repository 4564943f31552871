//! A small `ConfigDef`: typed keys with defaults and validators, parsed from
//! the string maps connectors, converters and transforms are configured with.
//! Error messages follow Kafka's `ConfigException` wording, which users see
//! in REST responses and validate results.

use std::collections::BTreeMap;
use std::fmt;

pub type Props = BTreeMap<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    pub fn java_name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl Importance {
    pub fn java_name(self) -> &'static str {
        match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        }
    }
}

/// A parsed config value.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    Null,
    Bool(bool),
    Str(String),
    Int(i32),
    Long(i64),
    Double(f64),
    List(Vec<String>),
}

impl ConfigValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ConfigValue::Str(s) => Some(s),
            _ => None,
        }
    }
    /// How the REST API prints a value in validate results.
    pub fn display(&self) -> Option<String> {
        match self {
            ConfigValue::Null => None,
            ConfigValue::Bool(b) => Some(b.to_string()),
            ConfigValue::Str(s) => Some(s.clone()),
            ConfigValue::Int(i) => Some(i.to_string()),
            ConfigValue::Long(i) => Some(i.to_string()),
            ConfigValue::Double(d) => Some(crate::data::javafmt::double_to_string(*d)),
            ConfigValue::List(l) => Some(l.join(",")),
        }
    }
}

pub type ValidatorFn = fn(&str, &ConfigValue) -> Result<(), String>;

#[derive(Clone, Debug)]
pub enum Validator {
    /// `ValidString.in(...)`
    OneOf(&'static [&'static str]),
    /// `CaseInsensitiveValidString.in(...)`
    OneOfIgnoreCase(&'static [&'static str]),
    NonEmptyString,
    NonNull,
    /// connect-transforms `NonEmptyListValidator`
    NonEmptyList,
    /// `Range.atLeast(n)`
    AtLeast(i64),
    Custom(ValidatorFn),
}

impl Validator {
    fn check(&self, name: &str, value: &ConfigValue) -> Result<(), String> {
        let shown = value.display().unwrap_or_else(|| "null".into());
        match self {
            Validator::OneOf(opts) => match value {
                ConfigValue::Str(s) if opts.contains(&s.as_str()) => Ok(()),
                _ => Err(invalid(
                    &shown,
                    name,
                    &format!("String must be one of: {}", opts.join(", ")),
                )),
            },
            Validator::OneOfIgnoreCase(opts) => match value {
                ConfigValue::Str(s) if opts.iter().any(|o| o.eq_ignore_ascii_case(s)) => Ok(()),
                _ => Err(invalid(
                    &shown,
                    name,
                    &format!(
                        "String must be one of (case insensitive): {}",
                        opts.join(", ")
                    ),
                )),
            },
            Validator::NonEmptyString => match value {
                ConfigValue::Str(s) if s.is_empty() => {
                    Err(invalid(&shown, name, "String must be non-empty"))
                }
                _ => Ok(()),
            },
            Validator::NonNull => match value {
                ConfigValue::Null => Err(invalid("null", name, "entry must be non null")),
                _ => Ok(()),
            },
            Validator::NonEmptyList => match value {
                ConfigValue::List(l) if !l.is_empty() => Ok(()),
                _ => Err(invalid(&shown, name, "Empty list")),
            },
            Validator::AtLeast(min) => {
                let n = match value {
                    ConfigValue::Int(i) => *i as i64,
                    ConfigValue::Long(l) => *l,
                    _ => return Ok(()),
                };
                if n < *min {
                    Err(invalid(
                        &shown,
                        name,
                        &format!("Value must be at least {min}"),
                    ))
                } else {
                    Ok(())
                }
            }
            Validator::Custom(f) => f(name, value),
        }
    }
}

/// `Invalid value V for configuration N: reason`.
pub fn invalid(value: &str, name: &str, reason: &str) -> String {
    format!("Invalid value {value} for configuration {name}: {reason}")
}

#[derive(Clone, Debug)]
pub enum Default {
    /// `ConfigDef.NO_DEFAULT_VALUE`: the key is required.
    Required,
    Value(ConfigValue),
}

#[derive(Clone, Debug)]
pub struct ConfigKey {
    pub name: &'static str,
    pub ty: ConfigType,
    pub default: Default,
    pub validator: Option<Validator>,
    pub importance: Importance,
    pub doc: &'static str,
    pub group: Option<&'static str>,
    pub display_name: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct ConfigDef {
    pub keys: Vec<ConfigKey>,
}

/// A config problem: one message per key (Kafka's `ConfigException`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError {
            key: None,
            message: message.into(),
        }
    }
    pub fn for_key(key: &str, message: impl Into<String>) -> Self {
        ConfigError {
            key: Some(key.to_string()),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigDef {
    pub fn new() -> Self {
        ConfigDef::default()
    }

    #[allow(clippy::too_many_arguments)]
    pub fn define(
        mut self,
        name: &'static str,
        ty: ConfigType,
        default: Default,
        validator: Option<Validator>,
        importance: Importance,
        doc: &'static str,
    ) -> Self {
        self.keys.push(ConfigKey {
            name,
            ty,
            default,
            validator,
            importance,
            doc,
            group: None,
            display_name: name,
        });
        self
    }

    pub fn define_in_group(
        mut self,
        group: &'static str,
        display: &'static str,
        key: ConfigKey,
    ) -> Self {
        self.keys.push(ConfigKey {
            group: Some(group),
            display_name: display,
            ..key
        });
        self
    }

    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Parses every defined key; the first problem is the error (like
    /// `AbstractConfig`'s constructor). Unknown keys are ignored, as Kafka does.
    pub fn parse(&self, props: &Props) -> Result<Parsed, ConfigError> {
        let mut values = BTreeMap::new();
        for key in &self.keys {
            let v = parse_key(key, props.get(key.name).map(String::as_str))?;
            values.insert(key.name.to_string(), v);
        }
        Ok(Parsed { values })
    }

    /// Every key's outcome (value or error messages), for `/config/validate`.
    pub fn validate_all(&self, props: &Props) -> Vec<(ConfigKey, Option<String>, Vec<String>)> {
        self.keys
            .iter()
            .map(|key| {
                let raw = props.get(key.name).cloned();
                match parse_key(key, raw.as_deref()) {
                    Ok(v) => (key.clone(), raw.or_else(|| v.display()), vec![]),
                    Err(e) => (key.clone(), raw, vec![e.message]),
                }
            })
            .collect()
    }
}

fn parse_key(key: &ConfigKey, raw: Option<&str>) -> Result<ConfigValue, ConfigError> {
    let value = match raw {
        Some(raw) => parse_type(key.name, key.ty, raw)?,
        None => match &key.default {
            Default::Required => {
                return Err(ConfigError::for_key(
                    key.name,
                    format!(
                        "Missing required configuration \"{}\" which has no default value.",
                        key.name
                    ),
                ))
            }
            Default::Value(v) => v.clone(),
        },
    };
    if let Some(validator) = &key.validator {
        // Kafka validates defaults too, except a null default.
        if raw.is_some() || value != ConfigValue::Null {
            validator
                .check(key.name, &value)
                .map_err(|m| ConfigError::for_key(key.name, m))?;
        }
    }
    Ok(value)
}

/// `ConfigDef.parseType`: strings are trimmed; lists split on commas with
/// surrounding whitespace.
pub fn parse_type(name: &str, ty: ConfigType, raw: &str) -> Result<ConfigValue, ConfigError> {
    let trimmed = raw.trim();
    let err = |reason: &str| ConfigError::for_key(name, invalid(trimmed, name, reason));
    Ok(match ty {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") {
                ConfigValue::Bool(true)
            } else if trimmed.eq_ignore_ascii_case("false") {
                ConfigValue::Bool(false)
            } else {
                return Err(err("Expected value to be either true or false"));
            }
        }
        ConfigType::String | ConfigType::Class | ConfigType::Password => {
            ConfigValue::Str(trimmed.to_string())
        }
        ConfigType::Int => ConfigValue::Int(
            trimmed
                .parse()
                .map_err(|_| err("Not a number of type INT"))?,
        ),
        ConfigType::Long => ConfigValue::Long(
            trimmed
                .parse()
                .map_err(|_| err("Not a number of type LONG"))?,
        ),
        ConfigType::Double => ConfigValue::Double(
            trimmed
                .parse()
                .map_err(|_| err("Not a number of type DOUBLE"))?,
        ),
        ConfigType::List => {
            if trimmed.is_empty() {
                ConfigValue::List(vec![])
            } else {
                ConfigValue::List(trimmed.split(',').map(|s| s.trim().to_string()).collect())
            }
        }
    })
}

/// The parsed values of a `ConfigDef`.
#[derive(Clone, Debug)]
pub struct Parsed {
    values: BTreeMap<String, ConfigValue>,
}

impl Parsed {
    pub fn get(&self, name: &str) -> &ConfigValue {
        self.values.get(name).unwrap_or(&ConfigValue::Null)
    }
    pub fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            ConfigValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), ConfigValue::Bool(true))
    }
    pub fn int(&self, name: &str) -> Option<i32> {
        match self.get(name) {
            ConfigValue::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn long(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            ConfigValue::Long(i) => Some(*i),
            ConfigValue::Int(i) => Some(*i as i64),
            _ => None,
        }
    }
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            ConfigValue::List(l) => l.clone(),
            _ => vec![],
        }
    }
}

/// Shorthands for building defaults.
pub fn no_default() -> Default {
    Default::Required
}
pub fn default_null() -> Default {
    Default::Value(ConfigValue::Null)
}
pub fn default_str(s: &str) -> Default {
    Default::Value(ConfigValue::Str(s.to_string()))
}
pub fn default_bool(b: bool) -> Default {
    Default::Value(ConfigValue::Bool(b))
}
pub fn default_int(i: i32) -> Default {
    Default::Value(ConfigValue::Int(i))
}
pub fn default_long(i: i64) -> Default {
    Default::Value(ConfigValue::Long(i))
}
pub fn default_list(items: &[&str]) -> Default {
    Default::Value(ConfigValue::List(
        items.iter().map(|s| s.to_string()).collect(),
    ))
}

/// The sub-map of `props` under `prefix`, with the prefix removed
/// (`AbstractConfig.originalsWithPrefix`).
pub fn with_prefix(props: &Props, prefix: &str) -> Props {
    props
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .map(|rest| (rest.to_string(), v.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_wording() {
        let def = ConfigDef::new()
            .define(
                "field",
                ConfigType::String,
                no_default(),
                None,
                Importance::High,
                "",
            )
            .define(
                "flag",
                ConfigType::Boolean,
                default_bool(true),
                None,
                Importance::Low,
                "",
            )
            .define(
                "op",
                ConfigType::String,
                no_default(),
                Some(Validator::OneOf(&["move", "copy"])),
                Importance::Low,
                "",
            );
        let mut props = Props::new();
        let e = def.parse(&props).unwrap_err();
        assert_eq!(
            e.message,
            "Missing required configuration \"field\" which has no default value."
        );
        props.insert("field".into(), " x ".into());
        props.insert("op".into(), "swap".into());
        let e = def.parse(&props).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value swap for configuration op: String must be one of: move, copy"
        );
        props.insert("op".into(), "copy".into());
        let p = def.parse(&props).unwrap();
        assert_eq!(p.string("field").unwrap(), "x");
        assert!(p.bool("flag"));
    }
}
