//! Reading the Swagger 2.0 document into the few shapes the generator needs.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

/// The parsed spec with its `$ref` tables.
pub struct Spec {
    root: Value,
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    Body,
}

/// One parameter of an operation, with `$ref`s resolved.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub location: Location,
    pub required: bool,
    /// The parameter object (for path, query and header) or its `schema` (for body).
    pub schema: Value,
    pub description: String,
}

/// What a successful answer carries.
#[derive(Debug, Clone)]
pub enum Success {
    /// No body declared; `created` when 201 is among the success codes.
    Empty { created: bool },
    /// A body with this schema.
    Body(Value),
}

/// One operation of the spec.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<Param>,
    pub success: Success,
    pub produces: Option<String>,
}

impl Spec {
    /// Reads and parses the YAML spec.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the Harbor spec {}", path.display()))?;
        let root: Value = serde_yaml::from_str(&text)
            .with_context(|| format!("parsing the Harbor spec {}", path.display()))?;
        if root.get("swagger").and_then(Value::as_str) != Some("2.0") {
            bail!("{} is not a Swagger 2.0 document", path.display());
        }
        Ok(Self { root })
    }

    /// The `definitions` table, sorted by name.
    pub fn definitions(&self) -> Vec<(&str, &Value)> {
        let mut all: Vec<_> = self
            .root
            .get("definitions")
            .and_then(Value::as_object)
            .map(|defs| defs.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }

    /// Every operation, sorted by path and then method, so the output is stable.
    pub fn operations(&self) -> Result<Vec<Operation>> {
        let paths = self
            .root
            .get("paths")
            .and_then(Value::as_object)
            .context("spec has no paths")?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let item = item.as_object().context("path item is not an object")?;
            for (method, op) in item {
                if method == "parameters" {
                    bail!("path-level parameters on {path} are not supported");
                }
                operations.push(self.operation(path, method, op)?);
            }
        }
        operations.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        Ok(operations)
    }

    fn operation(&self, path: &str, method: &str, op: &Value) -> Result<Operation> {
        let id = text(op, "operationId");
        if id.is_empty() {
            bail!("{method} {path} has no operationId");
        }
        let params = op
            .get("parameters")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|p| self.param(p))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let tag = op
            .get("tags")
            .and_then(Value::as_array)
            .and_then(|tags| tags.first())
            .and_then(Value::as_str)
            .unwrap_or("misc")
            .to_owned();
        let produces = op
            .get("produces")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Operation {
            success: self.success(op)?,
            id,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            tag,
            summary: text(op, "summary"),
            description: text(op, "description"),
            params,
            produces,
        })
    }

    fn param(&self, raw: &Value) -> Result<Param> {
        let param = self.resolve(raw, "parameters")?;
        let location = match text(param, "in").as_str() {
            "path" => Location::Path,
            "query" => Location::Query,
            "header" => Location::Header,
            "body" => Location::Body,
            other => bail!("unsupported parameter location {other:?}"),
        };
        let schema = if location == Location::Body {
            param
                .get("schema")
                .cloned()
                .context("body parameter without schema")?
        } else {
            param.clone()
        };
        Ok(Param {
            name: text(param, "name"),
            location,
            required: param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            schema,
            description: text(param, "description"),
        })
    }

    fn success(&self, op: &Value) -> Result<Success> {
        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .context("no responses")?;
        let mut codes: Vec<&String> = responses.keys().filter(|c| c.starts_with('2')).collect();
        codes.sort();
        for code in &codes {
            let response = self.resolve(&responses[code.as_str()], "responses")?;
            if let Some(schema) = response.get("schema") {
                return Ok(Success::Body(schema.clone()));
            }
        }
        Ok(Success::Empty {
            created: codes.iter().any(|c| c.as_str() == "201"),
        })
    }

    /// Follows a local `$ref` into `table` (`parameters`, `responses`); other values as is.
    fn resolve<'a>(&'a self, value: &'a Value, table: &str) -> Result<&'a Value> {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Ok(value);
        };
        let name = reference
            .strip_prefix(&format!("#/{table}/"))
            .with_context(|| format!("unexpected reference {reference}"))?;
        self.root
            .get(table)
            .and_then(|t| t.get(name))
            .with_context(|| format!("dangling reference {reference}"))
    }
}

/// A string field of a JSON object, or empty.
pub fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The properties of an object schema, in spec order.
pub fn properties(schema: &Value) -> Vec<(&str, &Value)> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| props.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// The names listed under `required`.
pub fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The definition name a `$ref` points at.
pub fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
}
