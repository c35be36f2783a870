//! What codegen knows about a Rust type, recorded by the route builder for a route's input and
//! server data: how to produce its JSON Schema and its TypeScript. Below the routes, so that
//! routes can carry their types' descriptions and codegen (above the router) can read them.

use std::any::TypeId;
use std::fmt;

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::Value;
use ts_rs::{TypeVisitor, TS};

/// What codegen knows about one of a route's types (its input or its server data): how to
/// produce its JSON Schema and its TypeScript. Recorded by the route builder from the types it
/// infers; see [`crate::Route::input_type`].
#[derive(Clone, Copy)]
pub struct TypeDescriptor {
    type_id: TypeId,
    rust_name: &'static str,
    json_schema: fn(&mut SchemaGenerator) -> schemars::Schema,
    root_schema: fn() -> Value,
    ts: fn(&ts_rs::Config) -> TsType,
}

impl fmt::Debug for TypeDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TypeDescriptor")
            .field(&self.rust_name)
            .finish()
    }
}

impl TypeDescriptor {
    /// The descriptor of `T`.
    pub fn of<T: JsonSchema + TS + 'static>() -> Self {
        TypeDescriptor {
            type_id: TypeId::of::<T>(),
            rust_name: std::any::type_name::<T>(),
            json_schema: |generator| generator.subschema_for::<T>(),
            root_schema: || {
                let settings = schemars::generate::SchemaSettings::draft2020_12();
                settings
                    .into_generator()
                    .into_root_schema_for::<T>()
                    .to_value()
            },
            ts: describe::<T>,
        }
    }

    /// The Rust type's path, as `std::any::type_name` gives it.
    pub fn rust_name(&self) -> &'static str {
        self.rust_name
    }

    /// The Rust type's `TypeId`.
    pub fn type_id(&self) -> TypeId {
        self.type_id
    }

    /// The type's schema within `generator`: a `$ref` into the generator's definitions for a
    /// named type, the schema itself for a primitive.
    pub fn json_schema_in(&self, generator: &mut SchemaGenerator) -> Value {
        (self.json_schema)(generator).to_value()
    }

    /// A self-contained JSON Schema (draft 2020-12, definitions under `$defs`), as the
    /// route-config endpoint serves it.
    pub fn standalone_json_schema(&self) -> Value {
        canonical((self.root_schema)())
    }

    /// The type's TypeScript: its name and the declarations it needs.
    pub fn typescript(&self, cfg: &ts_rs::Config) -> TsType {
        (self.ts)(cfg)
    }
}

/// A type as TypeScript sees it: the name to write where it is used, and the declarations
/// (its own, if it has one, and those of every named type it depends on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsType {
    /// `PostInput`, `Array<UploadedFile>`, `number`, `[number, string]`, …
    pub name: String,
    /// The declarations `name` needs: its own (when it is a named type) and those of every named
    /// type it uses.
    pub decls: Vec<TsDecl>,
}

/// One `export type …` declaration, with its doc comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsDecl {
    /// The declared type's name.
    pub name: String,
    /// The `export type …` code, with its doc comment.
    pub code: String,
}

struct Collector<'a> {
    cfg: &'a ts_rs::Config,
    decls: Vec<TsDecl>,
}

impl TypeVisitor for Collector<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Primitives and wrappers (`Vec`, `Option`, …) have no declaration; their contents are
        // reached through `visit_generics` by whoever uses them.
        if T::output_path().is_none() {
            return;
        }
        let name = T::ident(self.cfg);
        // Generic types: every instance has the same (generic) declaration.
        if self.decls.iter().any(|d| d.name == name) {
            return;
        }
        let mut code = T::docs().unwrap_or_default();
        code.push_str("export ");
        code.push_str(&T::decl(self.cfg));
        self.decls.push(TsDecl {
            name,
            code: close_no_comment_early(&code),
        });
        T::visit_dependencies(self);
        T::visit_generics(self);
    }
}

/// ts-rs copies doc comments into `/** … */` blocks as they are: a `*/` in a comment (say,
/// "`*/*`") would end the block early. Escapes it on the doc lines (` * …`) of the blocks.
pub(crate) fn close_no_comment_early(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for (i, line) in code.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match line.strip_prefix(" * ") {
            Some(text) => {
                out.push_str(" * ");
                out.push_str(&text.replace("*/", "*\\/"));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The TypeScript of `T`: its name and the declarations it needs.
pub fn describe<T: TS + 'static + ?Sized>(cfg: &ts_rs::Config) -> TsType {
    let mut collector = Collector {
        cfg,
        decls: Vec::new(),
    };
    collector.visit::<T>();
    T::visit_dependencies(&mut collector);
    T::visit_generics(&mut collector);
    TsType {
        name: T::name(cfg),
        decls: collector.decls,
    }
}

/// Sorts every object's keys, so the output does not depend on map iteration order.
pub(crate) fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}
