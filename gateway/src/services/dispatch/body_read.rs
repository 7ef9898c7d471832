//! A one-pass read of an OpenAI-format body for routing: the few fields the gateway
//! decides on, and the prompt's text gathered on the way, without building a JSON tree
//! of the whole body (which, with the tree's drop, cost more than the rest of the read).
//! The body itself goes upstream as the client's bytes; a tree is built only if a
//! channel needs the body converted.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// What routing reads from an OpenAI chat, completions or embeddings body.
#[derive(Default)]
pub struct OpenAiRead {
    pub model: Option<Value>,
    pub stream: Option<Value>,
    pub stream_options: Option<Value>,
    pub max_completion_tokens: Option<Value>,
    pub max_tokens: Option<Value>,
    pub n: Option<Value>,
    /// `messages`: `None` when absent or not an array.
    pub messages: Option<Messages>,
    pub tools: Option<Value>,
    /// `prompt` was present (any value).
    pub has_prompt: bool,
    /// `input` was present and not null.
    pub has_input: bool,
    /// Every string of `messages`, of `prompt` and of `input`, each gathered as
    /// `request::collect_text` gathers them from a tree.
    pub messages_text: String,
    pub prompt_text: String,
    pub input_text: String,
}

pub struct Messages {
    pub count: usize,
    pub all_objects: bool,
}

impl<'de> Deserialize<'de> for OpenAiRead {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut r = OpenAiRead::default();
        BodySeed(&mut r).deserialize(d)?;
        Ok(r)
    }
}

impl OpenAiRead {
    /// Reads a whole body into `self` (left as it is on success; partly filled on error).
    /// Filled in place: returned by value, this ~350-byte struct was copied through each
    /// of serde's layers, ~0.6k instructions a request.
    pub fn read_str(&mut self, text: &str) -> Result<(), serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        BodySeed(self).deserialize(&mut de)?;
        de.end()
    }
}

/// Fills an [`OpenAiRead`] in place.
struct BodySeed<'a>(&'a mut OpenAiRead);

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BodySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let r = self.0;
        while let Some(key) = map.next_key::<KeyName>()? {
            match key.0 {
                Some("model") => r.model = Some(map.next_value()?),
                Some("stream") => r.stream = Some(map.next_value()?),
                Some("stream_options") => r.stream_options = Some(map.next_value()?),
                Some("max_completion_tokens") => r.max_completion_tokens = Some(map.next_value()?),
                Some("max_tokens") => r.max_tokens = Some(map.next_value()?),
                Some("n") => r.n = Some(map.next_value()?),
                Some("tools") => r.tools = Some(map.next_value()?),
                Some("messages") => {
                    r.messages = map.next_value_seed(MessagesSeed(&mut r.messages_text))?
                }
                Some("prompt") => {
                    r.has_prompt = true;
                    map.next_value_seed(TextSeed(&mut r.prompt_text))?;
                }
                Some("input") => {
                    r.has_input |= map.next_value_seed(TextSeed(&mut r.input_text))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key, kept only when it is one the reader wants (as the wanted name: no allocation).
struct KeyName(Option<&'static str>);

const WANTED: [&str; 10] = [
    "model",
    "stream",
    "stream_options",
    "max_completion_tokens",
    "max_tokens",
    "n",
    "tools",
    "messages",
    "prompt",
    "input",
];

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<KeyName, E> {
                Ok(KeyName(WANTED.iter().find(|w| **w == k).copied()))
            }
        }
        d.deserialize_str(V)
    }
}

/// `messages`: counts the elements, checks each is an object, gathers their text.
struct MessagesSeed<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for MessagesSeed<'_> {
    type Value = Option<Messages>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessagesSeed<'_> {
    type Value = Option<Messages>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut m = Messages {
            count: 0,
            all_objects: true,
        };
        while let Some(is_object) = seq.next_element_seed(ElementSeed(&mut *self.0))? {
            m.count += 1;
            m.all_objects &= is_object;
        }
        Ok(Some(m))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// One message: its text gathered; answers whether it was an object.
struct ElementSeed<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(TextVisitor { out: self.0 })
            .map(|t| t.object)
    }
}

/// Gathers every string inside a value; answers whether the value was not null.
struct TextSeed<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(TextVisitor { out: self.0 })
            .map(|t| !t.null)
    }
}

struct TextVisitor<'a> {
    out: &'a mut String,
}

/// What a [`TextVisitor`] saw at its top level.
struct Seen {
    object: bool,
    null: bool,
}

const SCALAR: Seen = Seen {
    object: false,
    null: false,
};

impl<'de> Visitor<'de> for TextVisitor<'_> {
    type Value = Seen;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<Seen, E> {
        self.out.push_str(s);
        self.out.push('\n');
        Ok(SCALAR)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Seen, E> {
        self.out.push_str(" 0");
        Ok(SCALAR)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Seen, E> {
        self.out.push_str(" 0");
        Ok(SCALAR)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Seen, E> {
        self.out.push_str(" 0");
        Ok(SCALAR)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Seen, E> {
        Ok(SCALAR)
    }

    fn visit_unit<E>(self) -> Result<Seen, E> {
        Ok(Seen {
            object: false,
            null: true,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seen, A::Error> {
        while seq.next_element_seed(TextSeed(&mut *self.out))?.is_some() {}
        Ok(SCALAR)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seen, A::Error> {
        while let Some(key) = map.next_key::<ImageKey>()? {
            if key.0 {
                // Image and audio payloads are priced by the provider, not by their length.
                self.out.push_str("image ");
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(TextSeed(&mut *self.out))?;
            }
        }
        Ok(Seen {
            object: true,
            null: false,
        })
    }
}

/// Whether a key names an image or audio payload.
struct ImageKey(bool);

impl<'de> Deserialize<'de> for ImageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ImageKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, k: &str) -> Result<ImageKey, E> {
                Ok(ImageKey(k == "image_url" || k == "input_audio"))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::dispatch::request::collect_text;

    #[test]
    fn gathers_the_same_text_as_a_tree_walk() {
        let body = r#"{"model":"m","stream":true,"n":2,"unknown":{"x":[1,2]},
            "messages":[{"role":"system","content":"Be brief."},
              {"role":"user","content":[{"type":"text","text":"hi \u00e9"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},
              {"role":"tool","content":"42","tool_call_id":"c"}]}"#;
        let r: OpenAiRead = serde_json::from_str(body).unwrap();
        let v: Value = serde_json::from_str(body).unwrap();
        let mut expected = String::new();
        for m in v["messages"].as_array().unwrap() {
            collect_text(m, &mut expected);
        }
        assert_eq!(r.messages_text, expected);
        let m = r.messages.unwrap();
        assert_eq!((m.count, m.all_objects), (4, true));
        assert_eq!(r.model, Some(Value::from("m")));
        assert_eq!(r.n, Some(Value::from(2)));
    }

    #[test]
    fn tells_non_objects_and_missing_fields_apart() {
        let r: OpenAiRead = serde_json::from_str(r#"{"messages":[{"a":"b"},"x"]}"#).unwrap();
        assert!(!r.messages.unwrap().all_objects);
        let r: OpenAiRead = serde_json::from_str(r#"{"messages":{"a":1},"input":null}"#).unwrap();
        assert!(r.messages.is_none() && !r.has_input && !r.has_prompt);
        let r: OpenAiRead = serde_json::from_str(r#"{"prompt":null,"input":["a",[1]]}"#).unwrap();
        assert!(r.has_prompt && r.has_input);
        assert_eq!(
            (r.prompt_text.as_str(), r.input_text.as_str()),
            ("", "a\n 0")
        );
        assert!(serde_json::from_str::<OpenAiRead>("[1]").is_err());
    }
}
