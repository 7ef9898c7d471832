//! Gemini's OpenAPI-style `Schema` (as `parameters` and `responseSchema` carry it) →
//! JSON Schema for OpenAI-format channels: the SDKs send upper-case type names
//! (`OBJECT`, `STRING`) and `nullable`, which JSON Schema spells differently.

use serde_json::{Map, Value};

/// Deeper schemas are cut off rather than recursed into without bound.
const MAX_DEPTH: usize = 32;

pub fn openai_schema(schema: &Value) -> Value {
    convert(schema, 0)
}

fn convert(schema: &Value, depth: usize) -> Value {
    let Value::Object(m) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    if depth > MAX_DEPTH {
        return Value::Object(out);
    }
    let nullable = m.get("nullable").and_then(Value::as_bool) == Some(true);
    for (k, v) in m {
        let converted = match k.as_str() {
            "nullable" => continue,
            "type" => match v.as_str() {
                Some(t) if t.eq_ignore_ascii_case("TYPE_UNSPECIFIED") => continue,
                Some(t) if nullable => {
                    Value::Array(vec![t.to_ascii_lowercase().into(), "null".into()])
                }
                Some(t) => t.to_ascii_lowercase().into(),
                None => v.clone(),
            },
            "properties" | "$defs" | "definitions" => match v {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), convert(s, depth + 1)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => convert(v, depth + 1),
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => match v {
                Value::Array(alts) => {
                    Value::Array(alts.iter().map(|s| convert(s, depth + 1)).collect())
                }
                other => other.clone(),
            },
            // Gemini's ordering hint means nothing to JSON Schema.
            "propertyOrdering" => continue,
            _ => v.clone(),
        };
        out.insert(k.clone(), converted);
    }
    Value::Object(out)
}
