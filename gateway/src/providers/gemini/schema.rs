//! JSON Schema (as OpenAI tools and `response_format` carry it) → the OpenAPI subset
//! Gemini accepts. Gemini rejects unknown keys such as `$schema` or
//! `additionalProperties` with a 400, so only known keys are kept.

use serde_json::{Map, Value};

/// Keys Gemini's `Schema` object understands and that pass through as they are.
const KEEP: &[&str] = &[
    "description",
    "nullable",
    "required",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "pattern",
    "title",
    "propertyOrdering",
];

/// Formats Gemini accepts; others (`uri`, `email`, …) are refused upstream.
const FORMATS: &[&str] = &["date-time", "enum", "int32", "int64", "float", "double"];

/// Deeper schemas are cut off rather than recursed into without bound.
const MAX_DEPTH: usize = 32;

/// A Gemini-compatible copy of `schema`.
pub fn clean(schema: &Value) -> Value {
    clean_at(schema, 0)
}

fn clean_at(schema: &Value, depth: usize) -> Value {
    let Value::Object(m) = schema else {
        return Value::Object(Map::new());
    };
    let mut out = Map::new();
    if depth > MAX_DEPTH {
        return Value::Object(out);
    }
    for (k, v) in m {
        match k.as_str() {
            "type" => put_type(&mut out, v),
            "properties" => {
                if let Value::Object(props) = v {
                    let cleaned: Map<String, Value> = props
                        .iter()
                        .map(|(name, s)| (name.clone(), clean_at(s, depth + 1)))
                        .collect();
                    // An empty `properties` map is itself rejected.
                    if !cleaned.is_empty() {
                        // Gemini orders properties alphabetically unless told otherwise;
                        // the author's order decides in which order a model writes them.
                        if !m.contains_key("propertyOrdering") {
                            let order = cleaned.keys().cloned().map(Value::String).collect();
                            out.insert("propertyOrdering".into(), Value::Array(order));
                        }
                        out.insert(k.clone(), Value::Object(cleaned));
                    }
                }
            }
            "items" => {
                out.insert(k.clone(), clean_at(v, depth + 1));
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(alts) = v {
                    let alts = alts.iter().map(|s| clean_at(s, depth + 1)).collect();
                    out.insert("anyOf".into(), Value::Array(alts));
                }
            }
            // Gemini enums are strings only.
            "enum" if v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) => {
                out.insert(k.clone(), v.clone());
            }
            "const" if v.is_string() => {
                out.insert("enum".into(), Value::Array(vec![v.clone()]));
            }
            "format" if v.as_str().is_some_and(|f| FORMATS.contains(&f)) => {
                out.insert(k.clone(), v.clone());
            }
            key if KEEP.contains(&key) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    // `required` may only name properties that survived.
    if let Some(Value::Array(req)) = out.get("required") {
        let props = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = req
            .iter()
            .filter(|r| {
                r.as_str()
                    .is_some_and(|r| props.is_some_and(|p| p.contains_key(r)))
            })
            .cloned()
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    Value::Object(out)
}

/// `["string", "null"]` becomes `type: string, nullable: true`.
fn put_type(out: &mut Map<String, Value>, v: &Value) {
    match v {
        Value::String(_) => {
            out.insert("type".into(), v.clone());
        }
        Value::Array(types) => {
            if types.iter().any(|t| t == "null") {
                out.insert("nullable".into(), Value::Bool(true));
            }
            if let Some(t) = types.iter().find(|t| t.is_string() && *t != "null") {
                out.insert("type".into(), t.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rejected_keys_are_stripped_recursively() {
        let s = json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "additionalProperties": false, "strict": true,
            "properties": {
                "city": {"type": "string", "description": "City", "format": "uri", "default": "x"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                "tags": {"type": "array", "items": {"type": "object", "additionalProperties": {}, "properties": {}}},
                "mode": {"const": "fast"}},
            "required": ["city", "ghost"]});
        assert_eq!(
            clean(&s),
            json!({"type": "object", "propertyOrdering": ["city", "unit", "tags", "mode"],
            "properties": {
                "city": {"type": "string", "description": "City"},
                "unit": {"type": "string", "nullable": true, "enum": ["c", "f"]},
                "tags": {"type": "array", "items": {"type": "object"}},
                "mode": {"enum": ["fast"]}},
            "required": ["city"]})
        );
    }

    #[test]
    fn deep_or_odd_schemas_do_not_panic() {
        let mut s = json!({"type": "string"});
        for _ in 0..100 {
            s = json!({"type": "array", "items": s});
        }
        let _ = clean(&s);
        assert_eq!(clean(&json!("nope")), json!({}));
        assert_eq!(
            clean(&json!({"enum": [1, 2], "oneOf": [{"type": "string"}]})),
            json!({"anyOf": [{"type": "string"}]})
        );
    }
}
