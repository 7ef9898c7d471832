//! What a channel speaks upstream. The number is new-api's: it is what the `channels`
//! table stores and what `/api` accepts and returns, so both stay as they always were;
//! inside the gateway a type is this enum, and only `number`/`from_number` see the number.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "i64")]
pub enum ChannelType {
    OpenAi,
    AzureOpenAi,
    Anthropic,
    Gemini,
    /// Any server speaking OpenAI's API (vLLM, Ollama, OpenRouter, …).
    OpenAiCompatible,
}

impl ChannelType {
    /// Every type the gateway can talk to, in the order the API documents them.
    pub const ALL: [ChannelType; 5] = [
        ChannelType::OpenAi,
        ChannelType::AzureOpenAi,
        ChannelType::Anthropic,
        ChannelType::Gemini,
        ChannelType::OpenAiCompatible,
    ];

    /// The stored and wire number.
    pub const fn number(self) -> i64 {
        match self {
            ChannelType::OpenAi => 1,
            ChannelType::AzureOpenAi => 3,
            ChannelType::Anthropic => 14,
            ChannelType::Gemini => 24,
            ChannelType::OpenAiCompatible => 99,
        }
    }

    pub fn from_number(n: i64) -> Option<ChannelType> {
        Self::ALL.into_iter().find(|t| t.number() == n)
    }

    /// Where a channel of this type goes when it names no base URL (`None`: it must name
    /// one, its server is the operator's).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ChannelType::OpenAi => Some("https://api.openai.com"),
            ChannelType::Anthropic => Some("https://api.anthropic.com"),
            ChannelType::Gemini => Some("https://generativelanguage.googleapis.com"),
            ChannelType::AzureOpenAi | ChannelType::OpenAiCompatible => None,
        }
    }
}

impl From<ChannelType> for i64 {
    fn from(t: ChannelType) -> i64 {
        t.number()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_unknown_ones_are_none() {
        for t in ChannelType::ALL {
            assert_eq!(ChannelType::from_number(t.number()), Some(t));
        }
        assert_eq!(
            ChannelType::ALL.map(ChannelType::number),
            [1, 3, 14, 24, 99]
        );
        for n in [0, 2, 15, 98, -1] {
            assert_eq!(ChannelType::from_number(n), None);
        }
    }

    #[test]
    fn serialises_as_its_number() {
        assert_eq!(
            serde_json::to_value(ChannelType::Gemini).unwrap(),
            serde_json::json!(24)
        );
    }
}
