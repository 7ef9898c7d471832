//! Test helpers for stream adapters: feed recorded SSE bytes through the decoder in
//! chunks the way the streaming pipeline does, and check every split gives the same output.

use crate::providers::StreamAdapter;
use crate::store::Channel;
use serde_json::Value;
use shared::sse::{SseDecoder, SseEvent};

/// Runs `raw` split into `chunks` through a fresh adapter; returns the client bytes.
pub fn run<'a>(
    adapter: &mut dyn StreamAdapter,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> String {
    let mut dec = SseDecoder::new();
    let mut out = Vec::new();
    for c in chunks {
        for ev in dec.push(c).unwrap() {
            adapter.on_event(&ev, &mut out);
        }
        if adapter.is_done() {
            break;
        }
    }
    if !adapter.is_done() {
        if let Some(ev) = dec.finish().unwrap() {
            adapter.on_event(&ev, &mut out);
        }
    }
    adapter.finish(&mut out);
    String::from_utf8(out.concat()).unwrap()
}

/// Whole, 1/2/3/7-byte chunks and every two-way split must produce identical output.
pub fn split_invariant(make: &dyn Fn() -> Box<dyn StreamAdapter>, raw: &[u8]) -> String {
    let whole = run(&mut *make(), [raw]);
    for size in [1, 2, 3, 7] {
        assert_eq!(
            run(&mut *make(), raw.chunks(size)),
            whole,
            "chunks of {size}"
        );
    }
    for i in 0..=raw.len() {
        let (a, b) = raw.split_at(i);
        assert_eq!(run(&mut *make(), [a, b]), whole, "split at {i}");
    }
    whole
}

/// The client output decoded back into events.
pub fn events(out: &str) -> Vec<SseEvent> {
    let mut dec = SseDecoder::new();
    let mut evs = dec.push(out.as_bytes()).unwrap();
    evs.extend(dec.finish().unwrap());
    evs
}

/// The JSON data of every event except `[DONE]`.
pub fn json_data(out: &str) -> Vec<Value> {
    events(out)
        .iter()
        .filter(|e| !e.is_done())
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect()
}

/// Concatenation of a string field over chunks, e.g. `/choices/0/delta/content`.
pub fn concat(chunks: &[Value], pointer: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| c.pointer(pointer).and_then(Value::as_str))
        .collect()
}

/// A channel pointing at `base`, for `build` tests.
pub fn channel(base: &str) -> Channel {
    Channel {
        id: 1,
        channel_type: crate::store::ChannelType::Anthropic,
        name: "c".into(),
        base_url: base.into(),
        key_ciphertext: String::new(),
        key_preview: String::new(),
        models: vec![],
        model_mapping: Default::default(),
        priority: 0,
        weight: 1,
        status: 1,
        group: "default".into(),
        use_relay: None,
        api_version: String::new(),
        responses_api: false,
        response_time_ms: 0,
        used_quota: 0,
        test_at: None,
        test_success: None,
        test_error: String::new(),
        disabled_reason: String::new(),
        disabled_keys: Vec::new(),
        created_at: 0,
        updated_at: 0,
    }
}
