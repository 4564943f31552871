//! Storage: the `_schemas` topic (`kafka`), its record formats (`records`)
//! and the in-memory index rebuilt from it (`index`).

pub mod index;
pub mod kafka;
pub mod records;
