//! The shapes the `/api` OpenAPI description shares: the answer envelope, the failure
//! body, the session errors, and the schemas of fields whose Rust type says less than the
//! API accepts (status codes, name lists, ratio maps). Services and routes both use them,
//! so they live below both.

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A successful answer: `{"success": true, "message": "", "data": …}`.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    pub success: bool,
    pub message: String,
    pub data: T,
}

/// A refused or failed request: `{"success": false, "message": "why"}`.
#[derive(Serialize, ToSchema)]
pub struct Failure {
    pub success: bool,
    pub message: String,
}

/// The `data` of answers that have nothing to return: JSON `null`.
pub struct Null;

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}

/// The runtime options (`/api/option`): every key when read, any subset when changed.
#[derive(Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionValues {
    #[schema(nullable = false, max_length = 200)]
    pub system_name: Option<String>,
    #[schema(nullable = false)]
    pub register_enabled: Option<bool>,
    #[schema(nullable = false, minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub new_user_quota: Option<i64>,
    #[schema(nullable = false, minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub quota_per_unit: Option<i64>,
    #[schema(nullable = false, minimum = 0, maximum = 10)]
    pub retry_times: Option<i64>,
    #[schema(nullable = false)]
    pub auto_disable_channel: Option<bool>,
    /// Model name → price ratio.
    #[schema(schema_with = ratio_map)]
    pub model_ratio: Option<serde_json::Value>,
    #[schema(schema_with = ratio_map)]
    pub completion_ratio: Option<serde_json::Value>,
    /// Model name → price of a prompt-cache read, relative to the model's input price.
    #[schema(schema_with = ratio_map)]
    pub cache_read_ratio: Option<serde_json::Value>,
    /// Model name → price of a 5-minute prompt-cache write, relative to the input price.
    #[schema(schema_with = ratio_map)]
    pub cache_write_ratio: Option<serde_json::Value>,
    /// Model name → price of a 1-hour prompt-cache write, relative to the input price.
    #[schema(schema_with = ratio_map)]
    pub cache_write_1h_ratio: Option<serde_json::Value>,
    /// Whether the built-in price table (`GET /api/option/prices`) prices the ratios
    /// the maps above leave unset.
    #[schema(nullable = false)]
    pub builtin_prices: Option<bool>,
    /// Group name → price multiplier.
    #[schema(schema_with = ratio_map)]
    pub group_ratio: Option<serde_json::Value>,
    #[schema(nullable = false, minimum = 0, maximum = 1000)]
    pub default_model_ratio: Option<f64>,
    #[schema(nullable = false, minimum = 0, maximum = 1000)]
    pub default_completion_ratio: Option<f64>,
    #[schema(nullable = false, minimum = 5, maximum = 3600)]
    pub stream_idle_timeout_secs: Option<i64>,
    #[schema(nullable = false, minimum = 1, maximum = 600)]
    pub stream_keepalive_secs: Option<i64>,
    /// IANA time zone whose calendar days, weeks and months bound the spend budgets.
    #[schema(nullable = false, max_length = 64, example = "Europe/Berlin")]
    pub timezone: Option<String>,
    /// Days of raw log rows kept; 0 keeps them forever (older rows move to daily rollups).
    #[schema(nullable = false, minimum = 0, maximum = 36500)]
    pub log_retention_days: Option<i64>,
}

/// An optional integer limited to `values` (for `schema_with`).
fn int_choice(values: &[i64]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Integer,
            Type::Null,
        ]))
        .enum_values(Some(
            values
                .iter()
                .map(|v| serde_json::json!(v))
                .chain([serde_json::Value::Null]),
        ))
}

pub fn role() -> ObjectBuilder {
    int_choice(&[crate::store::ROLE_USER, crate::store::ROLE_ADMIN])
}
pub fn user_status() -> ObjectBuilder {
    int_choice(&[crate::store::USER_ENABLED, crate::store::USER_DISABLED])
}
pub fn token_status() -> ObjectBuilder {
    int_choice(&[crate::store::TOKEN_ENABLED, crate::store::TOKEN_DISABLED])
}
pub fn channel_status() -> ObjectBuilder {
    use crate::store::{CHANNEL_AUTO_DISABLED, CHANNEL_ENABLED, CHANNEL_MANUALLY_DISABLED};
    int_choice(&[
        CHANNEL_ENABLED,
        CHANNEL_MANUALLY_DISABLED,
        CHANNEL_AUTO_DISABLED,
    ])
}
pub fn channel_type() -> ObjectBuilder {
    use crate::store::ChannelType;
    int_choice(&ChannelType::ALL.map(ChannelType::number))
}

/// A list of names, as an array or (for new-api's console) a comma-separated string.
pub fn name_list() -> Schema {
    let item = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(128))
            .pattern(Some(NO_CONTROL))
    };
    Schema::AnyOf(
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(utoipa::openapi::schema::ArrayBuilder::new().items(item()))
            .item(item())
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

/// Name → number from 0 to 1000 (price ratios).
pub fn ratio_map() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1)),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0))
                .maximum(Some(1000)),
        ))
        .max_properties(Some(10_000))
}

/// Text without control characters (what `validate::short_text` accepts).
pub const NO_CONTROL: &str = r"^[^\x00-\x1f\x7f-\x9f]*$";

/// What any signed-in endpoint may answer besides success.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum SessionErrors {
    /// Malformed body, query or values.
    #[response(status = 400)]
    BadRequest(#[to_schema] Failure),
    /// Not signed in, or the session ended.
    #[response(status = 401)]
    Unauthorized(#[to_schema] Failure),
    /// Not allowed for this user (role, disabled, or a password change is due first).
    #[response(status = 403)]
    Forbidden(#[to_schema] Failure),
    /// No such resource, or not the caller's.
    #[response(status = 404)]
    NotFound(#[to_schema] Failure),
    /// A name that must be unique is taken.
    #[response(status = 409)]
    Conflict(#[to_schema] Failure),
    /// Body larger than 256 KiB.
    #[response(status = 413)]
    PayloadTooLarge(#[to_schema] Failure),
}
