//! Connect schemas: `Schema`, `Field` and a `SchemaBuilder`, with Kafka
//! Connect's equality (every attribute, defaults compared deeply) so that the
//! "Mismatching schema" / "Struct schemas do not match" checks behave the same.

use std::fmt;
use std::sync::Arc;

use super::{DataError, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    /// The Java enum constant name, used in error messages (`INT32`).
    pub fn java_name(self) -> &'static str {
        match self {
            Type::Int8 => "INT8",
            Type::Int16 => "INT16",
            Type::Int32 => "INT32",
            Type::Int64 => "INT64",
            Type::Float32 => "FLOAT32",
            Type::Float64 => "FLOAT64",
            Type::Boolean => "BOOLEAN",
            Type::String => "STRING",
            Type::Bytes => "BYTES",
            Type::Array => "ARRAY",
            Type::Map => "MAP",
            Type::Struct => "STRUCT",
        }
    }

    /// `Schema.Type.valueOf(s.toUpperCase())`.
    pub fn from_java_name(s: &str) -> Option<Type> {
        Some(match s {
            "INT8" => Type::Int8,
            "INT16" => Type::Int16,
            "INT32" => Type::Int32,
            "INT64" => Type::Int64,
            "FLOAT32" => Type::Float32,
            "FLOAT64" => Type::Float64,
            "BOOLEAN" => Type::Boolean,
            "STRING" => Type::String,
            "BYTES" => Type::Bytes,
            "ARRAY" => Type::Array,
            "MAP" => Type::Map,
            "STRUCT" => Type::Struct,
            _ => return None,
        })
    }

    pub fn is_primitive(self) -> bool {
        !matches!(self, Type::Array | Type::Map | Type::Struct)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.java_name())
    }
}

#[derive(Debug, PartialEq)]
pub struct SchemaData {
    pub ty: Type,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// Insertion-ordered, like the LinkedHashMap SchemaBuilder uses.
    pub parameters: Option<Vec<(String, String)>>,
    pub fields: Vec<Field>,
    pub key_schema: Option<Schema>,
    pub value_schema: Option<Schema>,
}

/// An immutable, cheaply cloned schema.
#[derive(Clone, Debug)]
pub struct Schema(Arc<SchemaData>);

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub index: usize,
    pub schema: Schema,
}

impl Schema {
    pub fn data(&self) -> &SchemaData {
        &self.0
    }
    pub fn ty(&self) -> Type {
        self.0.ty
    }
    pub fn is_optional(&self) -> bool {
        self.0.optional
    }
    pub fn default_value(&self) -> Option<&Value> {
        self.0.default.as_ref()
    }
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    pub fn version(&self) -> Option<i32> {
        self.0.version
    }
    pub fn doc(&self) -> Option<&str> {
        self.0.doc.as_deref()
    }
    pub fn parameters(&self) -> Option<&[(String, String)]> {
        self.0.parameters.as_deref()
    }
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn fields(&self) -> &[Field] {
        &self.0.fields
    }
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.0.fields.iter().find(|f| f.name == name)
    }
    pub fn key_schema(&self) -> Option<&Schema> {
        self.0.key_schema.as_ref()
    }
    pub fn value_schema(&self) -> Option<&Schema> {
        self.0.value_schema.as_ref()
    }

    // The constants of `Schema` (INT32_SCHEMA, OPTIONAL_STRING_SCHEMA...).
    pub fn of(ty: Type) -> Schema {
        SchemaBuilder::new(ty).build()
    }
    pub fn optional_of(ty: Type) -> Schema {
        SchemaBuilder::new(ty).optional().build()
    }

    /// Java's `ConnectSchema.toString()`.
    pub fn java_string(&self) -> String {
        match self.name() {
            Some(n) => format!("Schema{{{}:{}}}", n, self.ty()),
            None => format!("Schema{{{}}}", self.ty()),
        }
    }
}

pub struct SchemaBuilder {
    data: SchemaData,
}

impl SchemaBuilder {
    pub fn new(ty: Type) -> Self {
        SchemaBuilder {
            data: SchemaData {
                ty,
                optional: false,
                default: None,
                name: None,
                version: None,
                doc: None,
                parameters: None,
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }
    pub fn int8() -> Self {
        Self::new(Type::Int8)
    }
    pub fn int16() -> Self {
        Self::new(Type::Int16)
    }
    pub fn int32() -> Self {
        Self::new(Type::Int32)
    }
    pub fn int64() -> Self {
        Self::new(Type::Int64)
    }
    pub fn float32() -> Self {
        Self::new(Type::Float32)
    }
    pub fn float64() -> Self {
        Self::new(Type::Float64)
    }
    pub fn boolean() -> Self {
        Self::new(Type::Boolean)
    }
    pub fn string() -> Self {
        Self::new(Type::String)
    }
    pub fn bytes() -> Self {
        Self::new(Type::Bytes)
    }
    pub fn struct_() -> Self {
        Self::new(Type::Struct)
    }
    pub fn array(value_schema: Schema) -> Self {
        let mut b = Self::new(Type::Array);
        b.data.value_schema = Some(value_schema);
        b
    }
    pub fn map(key_schema: Schema, value_schema: Schema) -> Self {
        let mut b = Self::new(Type::Map);
        b.data.key_schema = Some(key_schema);
        b.data.value_schema = Some(value_schema);
        b
    }

    pub fn ty(&self) -> Type {
        self.data.ty
    }
    pub fn optional(mut self) -> Self {
        self.data.optional = true;
        self
    }
    pub fn required(mut self) -> Self {
        self.data.optional = false;
        self
    }
    pub fn set_optional(mut self, optional: bool) -> Self {
        self.data.optional = optional;
        self
    }
    pub fn name(mut self, name: Option<&str>) -> Self {
        self.data.name = name.map(str::to_string);
        self
    }
    pub fn version(mut self, version: Option<i32>) -> Self {
        self.data.version = version;
        self
    }
    pub fn doc(mut self, doc: Option<&str>) -> Self {
        self.data.doc = doc.map(str::to_string);
        self
    }
    pub fn parameter(mut self, key: &str, value: &str) -> Self {
        let params = self.data.parameters.get_or_insert_with(Vec::new);
        match params.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => params.push((key.to_string(), value.to_string())),
        }
        self
    }
    pub fn parameters(mut self, params: &[(String, String)]) -> Self {
        for (k, v) in params {
            self = self.parameter(k, v);
        }
        self
    }
    /// Adds a struct field; duplicate names are an error, as in SchemaBuilder.
    pub fn field(mut self, name: &str, schema: Schema) -> Result<Self, DataError> {
        if self.data.ty != Type::Struct {
            return Err(DataError::new(
                "Cannot create fields on type ".to_string() + self.data.ty.java_name(),
            ));
        }
        if self.data.fields.iter().any(|f| f.name == name) {
            return Err(DataError::new(format!(
                "Cannot create field because of field name duplication {name}"
            )));
        }
        let index = self.data.fields.len();
        self.data.fields.push(Field {
            name: name.to_string(),
            index,
            schema,
        });
        Ok(self)
    }
    /// Sets the default, validating it against this schema like SchemaBuilder.
    pub fn default_value(mut self, value: Value) -> Result<Self, DataError> {
        if value.is_null() {
            self.data.default = None;
            return Ok(self);
        }
        let probe = self.peek();
        if let Err(e) = super::validate_value(&probe, &value, None) {
            return Err(DataError::new(format!(
                "Invalid default value: {}",
                e.message
            )));
        }
        self.data.default = Some(value);
        Ok(self)
    }
    pub fn build(self) -> Schema {
        Schema(Arc::new(self.data))
    }

    /// The schema as built so far, leaving the builder usable.
    pub fn peek(&self) -> Schema {
        let d = &self.data;
        Schema(Arc::new(SchemaData {
            ty: d.ty,
            optional: d.optional,
            default: d.default.clone(),
            name: d.name.clone(),
            version: d.version,
            doc: d.doc.clone(),
            parameters: d.parameters.clone(),
            fields: d.fields.clone(),
            key_schema: d.key_schema.clone(),
            value_schema: d.value_schema.clone(),
        }))
    }

    /// A builder holding everything of `schema` (Java `SchemaBuilder` copy idioms).
    pub fn from_schema(schema: &Schema) -> SchemaBuilder {
        let d = schema.data();
        SchemaBuilder {
            data: SchemaData {
                ty: d.ty,
                optional: d.optional,
                default: d.default.clone(),
                name: d.name.clone(),
                version: d.version,
                doc: d.doc.clone(),
                parameters: d.parameters.clone(),
                fields: d.fields.clone(),
                key_schema: d.key_schema.clone(),
                value_schema: d.value_schema.clone(),
            },
        }
    }
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc, parameters.
pub fn copy_schema_basics(source: &Schema, mut builder: SchemaBuilder) -> SchemaBuilder {
    builder = builder
        .name(source.name())
        .version(source.version())
        .doc(source.doc());
    if let Some(params) = source.parameters() {
        builder = builder.parameters(params);
    }
    builder
}

/// `SchemaUtil.copySchemaBasics(source)`: a builder of the same type (arrays keep
/// their element schema) with the basics copied.
pub fn copy_schema_basics_of(source: &Schema) -> SchemaBuilder {
    let builder = match source.ty() {
        Type::Array => match source.value_schema() {
            Some(v) => SchemaBuilder::array(v.clone()),
            None => SchemaBuilder::new(Type::Array),
        },
        ty => SchemaBuilder::new(ty),
    };
    copy_schema_basics(source, builder)
}
