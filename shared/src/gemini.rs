//! Google Gemini API wire types (`generateContent`, `streamGenerateContent?alt=sse`,
//! `batchEmbedContents`), in the REST API's camelCase.
//!
//! Only what the gateway converts is typed; unknown fields are ignored, and token counts
//! that are not non-negative integers read as absent.

use crate::anthropic::opt_count;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A `generateContent` request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    #[serde(default)]
    pub contents: Vec<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_config: Option<GenerationConfig>,
}

/// A turn: `role` is `user` or `model` (absent in `systemInstruction`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// One part; exactly one of the data fields is set on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// True on reasoning ("thought summary") parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
}

impl Part {
    /// A text part.
    pub fn text(s: impl Into<String>) -> Self {
        Part {
            text: Some(s.into()),
            ..Part::default()
        }
    }
}

/// Inline bytes, base64-encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    #[serde(default)]
    pub mime_type: String,
    #[serde(default)]
    pub data: String,
}

/// A call the model wants made; `args` is a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub args: Value,
}

/// The result of a call; `response` must be a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    pub response: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    #[serde(default)]
    pub function_declarations: Vec<FunctionDeclaration>,
}

/// `parameters` is Gemini's OpenAPI-subset schema, not full JSON Schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionDeclaration {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfig {
    pub function_calling_config: FunctionCallingConfig,
}

/// `mode` is `AUTO`, `ANY` or `NONE`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionCallingConfig {
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_function_names: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    /// `{"thinkingBudget": n}` or `{"thinkingLevel": …}`, with `includeThoughts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<Value>,
}

/// A whole answer, or one stream event (each carries only the new parts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub model_version: Option<String>,
    #[serde(default)]
    pub response_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    #[serde(default)]
    pub content: Option<Content>,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, … ; set on the candidate's last event only.
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default)]
    pub index: Option<u32>,
}

/// Set when the prompt itself was blocked (then there are no candidates).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    #[serde(default)]
    pub block_reason: Option<String>,
}

/// Token usage; stream events repeat it cumulatively.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_token_count: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub candidates_token_count: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub thoughts_token_count: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_use_prompt_token_count: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub cached_content_token_count: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_count",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_token_count: Option<u64>,
}

impl UsageMetadata {
    /// OpenAI usage: thinking tokens are billed as output (as Google bills them), tool-use
    /// prompt tokens as input; cached and reasoning counts go into the detail objects.
    pub fn to_openai(&self) -> crate::openai::Usage {
        let prompt = self
            .prompt_token_count
            .unwrap_or(0)
            .saturating_add(self.tool_use_prompt_token_count.unwrap_or(0));
        let thoughts = self.thoughts_token_count.unwrap_or(0);
        let completion = self
            .candidates_token_count
            .unwrap_or(0)
            .saturating_add(thoughts);
        let mut u = crate::openai::Usage::new(prompt, completion);
        u.total_tokens = u.total_tokens.max(self.total_token_count.unwrap_or(0));
        u.prompt_tokens_details = Some(serde_json::json!({
            "cached_tokens": self.cached_content_token_count.unwrap_or(0)
        }));
        u.completion_tokens_details = Some(serde_json::json!({ "reasoning_tokens": thoughts }));
        u
    }
}

/// A `batchEmbedContents` request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchEmbedContentsRequest {
    pub requests: Vec<EmbedContentRequest>,
}

/// One input of a batch; `model` is `models/{model}` and must match the URL's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedContentRequest {
    pub model: String,
    pub content: Content,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimensionality: Option<u64>,
}

/// A `batchEmbedContents` answer, in input order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEmbedContentsResponse {
    #[serde(default)]
    pub embeddings: Vec<ContentEmbedding>,
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContentEmbedding {
    #[serde(default)]
    pub values: Vec<f64>,
}

/// Google's error body: `{"error":{"code","message","status"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn response_parses_parts_usage_and_ignores_unknown_fields() {
        let r: GenerateContentResponse = serde_json::from_value(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "plan", "thought": true},
                {"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": "sig"},
                {"executableCode": {"code": "print(1)"}}]},
                "finishReason": "STOP", "safetyRatings": [], "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4,
                "thoughtsTokenCount": 6, "totalTokenCount": 20, "cachedContentTokenCount": 8},
            "modelVersion": "gemini-2.5-flash"
        }))
        .unwrap();
        let parts = &r.candidates[0].content.as_ref().unwrap().parts;
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].function_call.as_ref().unwrap().args["x"], 1);
        let u = r.usage_metadata.unwrap().to_openai();
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (10, 10, 20)
        );
        assert_eq!(u.cached_tokens(), 8);
    }

    #[test]
    fn negative_counts_are_not_billed() {
        let u: UsageMetadata =
            serde_json::from_value(json!({"promptTokenCount": -5, "candidatesTokenCount": 2}))
                .unwrap();
        assert_eq!(u.to_openai().prompt_tokens, 0);
    }

    #[test]
    fn requests_serialise_in_camel_case_without_empty_fields() {
        let req = GenerateContentRequest {
            contents: vec![Content {
                role: Some("user".into()),
                parts: vec![Part::text("hi")],
            }],
            generation_config: Some(GenerationConfig {
                max_output_tokens: Some(5),
                ..GenerationConfig::default()
            }),
            ..GenerateContentRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}],
                   "generationConfig": {"maxOutputTokens": 5}})
        );
    }

    #[test]
    fn embeddings_and_errors_parse() {
        let r: BatchEmbedContentsResponse =
            serde_json::from_str(r#"{"embeddings":[{"values":[0.5,-1]}]}"#).unwrap();
        assert_eq!(r.embeddings[0].values, vec![0.5, -1.0]);
        let e: ErrorBody = serde_json::from_str(
            r#"{"error":{"code":400,"message":"API key not valid","status":"INVALID_ARGUMENT"}}"#,
        )
        .unwrap();
        assert_eq!(e.error.message, "API key not valid");
    }
}
