//! Emits `generated/models.rs`: a struct (or alias) per definition of the spec.

use std::fmt::Write as _;

use serde_json::Value;

use super::rust::{Ty, doc_lines, field_name, is_secret, serde_name, type_name};
use super::spec::{Spec, properties, ref_name, required};

/// Properties whose spec type is wrong or too loose for real Harbor answers, and the
/// hand-written type used instead (see `harbor-client/src/quirks.rs`).
const OVERRIDES: &[(&str, &str, &str)] =
    &[("ReplicationFilter", "value", "crate::quirks::FilterValue")];

/// Collects the structs to emit, including those for inline object schemas.
#[derive(Default)]
pub struct ModelWriter {
    out: String,
    pending: Vec<(String, Value, String)>,
}

impl ModelWriter {
    /// Writes every definition of the spec, then the inline request bodies, and returns the
    /// file text.
    pub fn definitions(spec: &Spec, inline_bodies: &[(String, Value)]) -> String {
        let mut writer = Self::default();
        writer.out.push_str(HEADER);
        for (name, schema) in spec.definitions() {
            writer.definition(name, schema);
        }
        writer.flush_pending();
        for (name, schema) in inline_bodies {
            let doc = description_or(schema, &format!("The request body of `{name}`."));
            writer.structure(name, schema, &doc);
            writer.flush_pending();
        }
        writer.out
    }

    fn definition(&mut self, name: &str, schema: &Value) {
        let rust_name = type_name(name);
        let description = description_or(schema, &format!("The `{name}` model of the spec."));
        if schema.get("properties").is_some() {
            self.structure(&rust_name, schema, &description);
            return;
        }
        let ty = self.ty(schema, &format!("{rust_name}Value"));
        let _ = writeln!(
            self.out,
            "{}pub type {rust_name} = {};\n",
            doc_lines(&description, ""),
            ty.render()
        );
    }

    fn flush_pending(&mut self) {
        while let Some((name, schema, doc)) = self.pending.pop() {
            self.structure(&name, &schema, &doc);
        }
    }

    /// Maps a schema to a type and queues inline objects for emission.
    fn ty(&mut self, schema: &Value, inline_name: &str) -> Ty {
        let ty = Ty::of(schema, inline_name);
        self.queue_inline(schema, inline_name);
        ty
    }

    fn queue_inline(&mut self, schema: &Value, name: &str) {
        if ref_name(schema).is_some() {
            return;
        }
        if schema.get("properties").is_some() {
            let doc = description_or(schema, "An inline object of the spec.");
            self.pending.push((name.to_owned(), schema.clone(), doc));
        } else if let Some(items) = schema.get("items") {
            self.queue_inline(items, &format!("{name}Item"));
        } else if let Some(inner) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            self.queue_inline(inner, &format!("{name}Value"));
        }
    }

    fn structure(&mut self, name: &str, schema: &Value, doc: &str) {
        let required = required(schema);
        let mut body = String::new();
        for (property, property_schema) in properties(schema) {
            let is_required = required.contains(&property);
            let field = self.field(name, property, property_schema, is_required);
            body.push_str(&field);
        }
        let _ = write!(
            self.out,
            "{}#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]\npub struct {name} {{\n{body}    /// Fields the spec does not declare, kept as the server sent them.\n    #[serde(flatten)]\n    pub extra: BTreeMap<String, Value>,\n}}\n\n",
            doc_lines(doc, ""),
        );
    }

    fn field(&mut self, owner: &str, property: &str, schema: &Value, is_required: bool) -> String {
        let ident = field_name(property);
        let inline_name = format!("{owner}{}", type_name(property));
        let mut ty = self.ty(schema, &inline_name);
        if is_secret(property, schema) {
            ty = Ty::Secret;
        }
        if let Some(custom) = override_for(owner, property, schema) {
            ty = Ty::Custom(custom);
        }
        let mut attrs: Vec<String> = Vec::new();
        if serde_name(&ident) != property {
            attrs.push(format!("rename = \"{property}\""));
        }
        let rendered = field_type(&ty, is_required, &mut attrs);
        let doc = description_or(
            schema,
            &format!("`{property}` (no description in the spec)."),
        );
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!("    #[serde({})]\n", attrs.join(", "))
        };
        format!(
            "{}{attrs}    pub {ident}: {rendered},\n",
            doc_lines(&doc, "    ")
        )
    }
}

/// The field type and its serde attributes: collections read `null` as empty, times read
/// Harbor's zero time as `None`, secrets stay out of `Debug`.
fn field_type(ty: &Ty, is_required: bool, attrs: &mut Vec<String>) -> String {
    match ty {
        Ty::List(_) | Ty::Map(_) => {
            attrs.push(
                "default, deserialize_with = \"crate::serde_helpers::null_as_default\"".to_owned(),
            );
            if !is_required {
                let empty = if matches!(ty, Ty::List(_)) {
                    "Vec::is_empty"
                } else {
                    "BTreeMap::is_empty"
                };
                attrs.push(format!("skip_serializing_if = \"{empty}\""));
            }
            ty.render()
        }
        Ty::Time => {
            attrs.push("default, with = \"crate::serde_helpers::harbor_time\", skip_serializing_if = \"Option::is_none\"".to_owned());
            "Option<OffsetDateTime>".to_owned()
        }
        Ty::Secret => {
            attrs.push("default, with = \"crate::serde_helpers::secret\", skip_serializing_if = \"Option::is_none\"".to_owned());
            "Option<Secret>".to_owned()
        }
        _ if is_required => ty.render(),
        _ => {
            attrs.push("default, skip_serializing_if = \"Option::is_none\"".to_owned());
            format!("Option<{}>", ty.render())
        }
    }
}

/// The hand-written type for a property the spec gets wrong, if any.
fn override_for(owner: &str, property: &str, schema: &Value) -> Option<String> {
    if let Some((_, _, custom)) = OVERRIDES
        .iter()
        .find(|(o, p, _)| *o == owner && *p == property)
    {
        return Some((*custom).to_owned());
    }
    let description = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let string_boolean = schema.get("type").and_then(Value::as_str) == Some("string")
        && description.contains("The valid values are \"true\", \"false\"");
    string_boolean.then(|| "crate::quirks::StringBool".to_owned())
}

fn description_or(schema: &Value, fallback: &str) -> String {
    let description = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim();
    if description.is_empty() {
        fallback.to_owned()
    } else {
        description.to_owned()
    }
}

const HEADER: &str = "//! Models: one type per definition of Harbor's v2.0 spec.
//!
//! Generated by `cargo xtask codegen harbor` from `shared/specs/harbor-v2.0-swagger.yaml`;
//! do not edit. Every struct keeps the fields the spec does not declare in `extra`; lists and
//! maps read `null` as empty; times read `0001-01-01T00:00:00Z` (Harbor's \"never\") as `None`;
//! credentials are `Secret`s that never show in `Debug`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use wharf_oci_core::secret::Secret;

";
