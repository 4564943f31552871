//! Context-qualified subject names, Confluent's `:.context:subject` syntax.
//! The default context is `.` and its subjects are written unqualified; a
//! subject string that names only a context (`:.ctx:`) addresses that
//! context's config and mode.

pub const DEFAULT_CONTEXT: &str = ".";
pub const WILDCARD_PREFIX: &str = ":*:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedSubject {
    /// `.` or `.name`.
    pub context: String,
    /// May be empty (a context-level target).
    pub name: String,
}

impl QualifiedSubject {
    pub fn parse(s: &str) -> QualifiedSubject {
        if let Some(rest) = s.strip_prefix(":.") {
            match rest.find(':') {
                Some(ix) => QualifiedSubject {
                    context: format!(".{}", &rest[..ix]),
                    name: rest[ix + 1..].to_string(),
                },
                None => QualifiedSubject {
                    context: format!(".{rest}"),
                    name: String::new(),
                },
            }
        } else {
            QualifiedSubject {
                context: DEFAULT_CONTEXT.into(),
                name: s.to_string(),
            }
        }
    }

    pub fn is_default_context(&self) -> bool {
        self.context == DEFAULT_CONTEXT
    }

    /// The canonical spelling: unqualified in the default context.
    pub fn qualified(&self) -> String {
        if self.is_default_context() {
            self.name.clone()
        } else {
            format!(":{}:{}", self.context, self.name)
        }
    }
}

/// The canonical spelling of a subject (`:.:s` becomes `s`).
pub fn normalize(s: &str) -> String {
    QualifiedSubject::parse(s).qualified()
}

/// The context a subject lives in.
pub fn context_of(s: &str) -> String {
    QualifiedSubject::parse(s).context
}

/// The subject-string that addresses `context`'s own config/mode.
pub fn context_key(context: &str) -> Option<String> {
    (context != DEFAULT_CONTEXT).then(|| format!(":{context}:"))
}

/// Whether `s` is the default context itself (empty or `:.:`), which for
/// `/config/{s}` and `/mode/{s}` means the global level.
pub fn is_default_context_target(s: &str) -> bool {
    let q = QualifiedSubject::parse(s);
    q.is_default_context() && q.name.is_empty()
}

/// Confluent's rule: no control characters and not a reserved name.
pub fn is_valid(s: &str) -> bool {
    if s.chars().any(|c| c.is_control()) {
        return false;
    }
    let q = QualifiedSubject::parse(s);
    q.name != "__GLOBAL" && q.name != "__EMPTY" && q.context != ".__GLOBAL"
}

/// Whether `subject` matches a `subjectPrefix` filter. The default prefix
/// `:*:` matches every subject in every context; a prefix naming a context
/// matches subjects in it.
pub fn matches_prefix(subject: &str, prefix: &str) -> bool {
    if prefix.is_empty() || prefix == WILDCARD_PREFIX {
        return true;
    }
    if let Some(rest) = prefix.strip_prefix(WILDCARD_PREFIX) {
        return QualifiedSubject::parse(subject).name.starts_with(rest);
    }
    let p = QualifiedSubject::parse(prefix);
    let s = QualifiedSubject::parse(subject);
    s.context == p.context && s.name.starts_with(&p.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_normalize() {
        assert_eq!(normalize("orders-value"), "orders-value");
        assert_eq!(normalize(":.:orders-value"), "orders-value");
        let q = QualifiedSubject::parse(":.staging:orders-value");
        assert_eq!(q.context, ".staging");
        assert_eq!(q.name, "orders-value");
        assert_eq!(q.qualified(), ":.staging:orders-value");
        assert_eq!(QualifiedSubject::parse(":.staging:").name, "");
        assert_eq!(QualifiedSubject::parse(":.staging").context, ".staging");
        assert_eq!(context_key(".staging").as_deref(), Some(":.staging:"));
        assert_eq!(context_key("."), None);
        assert!(is_default_context_target(":.:"));
        assert!(!is_default_context_target("s"));
    }

    #[test]
    fn validity_and_prefixes() {
        assert!(is_valid("a-value"));
        assert!(!is_valid("bad\u{1}name"));
        assert!(!is_valid("__GLOBAL"));
        assert!(matches_prefix(":.x:abc", ":*:"));
        assert!(matches_prefix("abc", "ab"));
        assert!(!matches_prefix(":.x:abc", "ab"));
        assert!(matches_prefix(":.x:abc", ":.x:a"));
        assert!(matches_prefix(":.x:abc", ":*:a"));
    }
}
