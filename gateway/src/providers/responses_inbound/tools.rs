//! Responses tools ↔ chat function tools.
//!
//! Chat only knows JSON function tools, so a `custom` (free-form) tool becomes a function
//! with one string parameter `input`, and a `namespace` tool's members become functions
//! named `{namespace}__{name}`. [`ToolNames`] remembers both so a call coming back is
//! turned into the item the client declared (`custom_tool_call`, `namespace` field):
//! an agent whose `apply_patch` call came back as a plain function call would never edit
//! a file.

use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Separator of a flattened namespace member's name (allowed by every provider's name rules).
const NS_SEP: &str = "__";

#[derive(Debug, Clone, Default)]
struct Declared {
    namespace: Option<String>,
    name: String,
    custom: bool,
}

/// The client's tools by the flat name the chat side sees.
#[derive(Debug, Clone, Default)]
pub struct ToolNames {
    by_flat: HashMap<String, Declared>,
}

/// The flat chat name of a (possibly namespaced) tool.
pub fn flat_name(namespace: Option<&str>, name: &str) -> String {
    match namespace.filter(|n| !n.is_empty()) {
        Some(ns) => format!("{ns}{NS_SEP}{name}"),
        None => name.to_string(),
    }
}

impl ToolNames {
    /// Reads the `tools` of a Responses request.
    pub fn from_request(body: &Value) -> Self {
        let mut names = ToolNames::default();
        for t in body
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            names.add(t, None);
        }
        names
    }

    fn add(&mut self, t: &Value, namespace: Option<&str>) {
        let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
        match t.get("type").and_then(Value::as_str) {
            Some("function") | Some("custom") => {
                let custom = t.get("type").and_then(Value::as_str) == Some("custom");
                self.by_flat.insert(
                    flat_name(namespace, name),
                    Declared {
                        namespace: namespace.map(String::from),
                        name: name.to_string(),
                        custom,
                    },
                );
            }
            Some("namespace") => {
                for inner in t
                    .get("tools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    self.add(inner, Some(name));
                }
            }
            _ => {}
        }
    }

    /// Whether the flat name is a custom (free-form) tool.
    pub fn is_custom(&self, flat: &str) -> bool {
        self.by_flat.get(flat).is_some_and(|d| d.custom)
    }

    /// The output item for a chat tool call: `function_call` or `custom_tool_call`, with
    /// the declared name and namespace. `item_id` is the item's own id.
    pub fn call_item(&self, item_id: &str, call_id: &str, flat: &str, arguments: &str) -> Value {
        let declared = self.by_flat.get(flat);
        let name = declared.map_or(flat, |d| d.name.as_str());
        let mut item = if declared.is_some_and(|d| d.custom) {
            json!({"type": "custom_tool_call", "id": item_id, "call_id": call_id,
                   "name": name, "input": custom_input(arguments), "status": "completed"})
        } else {
            json!({"type": "function_call", "id": item_id, "call_id": call_id,
                   "name": name, "arguments": arguments, "status": "completed"})
        };
        if let Some(ns) = declared.and_then(|d| d.namespace.as_deref()) {
            item["namespace"] = json!(ns);
        }
        item
    }
}

/// The free-form text of a converted custom tool call: the `input` string the function
/// was given, or the raw arguments when the model wrote something else (the tool then
/// sees what the model meant rather than nothing).
pub fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(o)) => match o.get("input") {
            Some(Value::String(s)) => s.clone(),
            _ => arguments.to_string(),
        },
        _ => arguments.to_string(),
    }
}

/// Converts the request's tools; what chat cannot express is named in `warnings`.
pub fn chat_tools(body: &Value, warnings: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::new();
    for t in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        push_tool(t, None, &mut out, warnings);
    }
    out
}

fn push_tool(
    t: &Value,
    namespace: Option<&Value>,
    out: &mut Vec<Value>,
    warnings: &mut Vec<String>,
) {
    let kind = t.get("type").and_then(Value::as_str).unwrap_or_default();
    let name = t.get("name").and_then(Value::as_str).unwrap_or_default();
    let ns_name = namespace
        .and_then(|n| n.get("name"))
        .and_then(Value::as_str);
    match kind {
        "function" | "custom" if !name.is_empty() => {
            let mut f = Map::new();
            f.insert("name".into(), json!(flat_name(ns_name, name)));
            let description = describe(t, namespace);
            if !description.is_empty() {
                f.insert("description".into(), json!(description));
            }
            if kind == "function" {
                let params = t
                    .get("parameters")
                    .filter(|p| p.is_object())
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                f.insert("parameters".into(), params);
                if let Some(s) = t.get("strict").filter(|s| s.is_boolean()) {
                    f.insert("strict".into(), s.clone());
                }
            } else {
                f.insert("parameters".into(), custom_parameters());
            }
            out.push(json!({"type": "function", "function": Value::Object(f)}));
        }
        "namespace" => {
            for inner in t
                .get("tools")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                push_tool(inner, Some(t), out, warnings);
            }
        }
        other => warnings.push(format!(
            "tool '{}' of type '{other}' is not available on this channel and was dropped",
            if name.is_empty() { other } else { name }
        )),
    }
}

/// The tool's description, with its namespace's description and a custom tool's grammar,
/// which the model needs to write valid free-form input.
fn describe(t: &Value, namespace: Option<&Value>) -> String {
    let mut parts = Vec::new();
    if let Some(d) = namespace
        .and_then(|n| n.get("description"))
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        parts.push(d.to_string());
    }
    if let Some(d) = t.get("description").and_then(Value::as_str) {
        parts.push(d.to_string());
    }
    let format = t.get("format");
    if format.and_then(|f| f.get("type")).and_then(Value::as_str) == Some("grammar") {
        let syntax = format
            .and_then(|f| f.get("syntax"))
            .and_then(Value::as_str)
            .unwrap_or("lark");
        let definition = format
            .and_then(|f| f.get("definition"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        parts.push(format!(
            "Put the whole free-form input in the `input` string; it must follow this \
             {syntax} grammar:\n{definition}"
        ));
    }
    parts.join("\n\n")
}

fn custom_parameters() -> Value {
    json!({"type": "object",
           "properties": {"input": {"type": "string",
                                     "description": "The free-form input for this tool."}},
           "required": ["input"], "additionalProperties": false})
}

/// `tool_choice` for chat; hosted-tool choices fall back to `auto` with a warning.
pub fn chat_tool_choice(choice: &Value, warnings: &mut Vec<String>) -> Option<Value> {
    match choice {
        Value::String(s) if ["auto", "none", "required"].contains(&s.as_str()) => Some(json!(s)),
        Value::Object(o) => {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or_default();
            let name = o.get("name").and_then(Value::as_str);
            match (kind, name) {
                ("function" | "custom", Some(n)) => {
                    let ns = o.get("namespace").and_then(Value::as_str);
                    Some(json!({"type": "function", "function": {"name": flat_name(ns, n)}}))
                }
                ("allowed_tools", _) => o.get("mode").cloned(),
                _ => {
                    warnings.push(format!(
                        "tool_choice '{kind}' is not available on this channel; using auto"
                    ));
                    Some(json!("auto"))
                }
            }
        }
        _ => None,
    }
}
