//! SSE decoding of a realistic OpenAI chat stream, fed in different TCP chunk sizes.
//!
//! Run: `cargo bench -p shared --bench sse`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shared::sse::SseDecoder;

/// Role chunk, `deltas` content chunks, finish chunk, usage chunk and `[DONE]`, with a
/// keep-alive comment in the middle, as an OpenAI-compatible upstream sends them.
fn openai_stream(deltas: usize, line_end: &str) -> Vec<u8> {
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"chatcmpl-9x2kQmZbT1cVw8yJrLpN4aDf\",\"object\":\"chat.completion.chunk\",\
             \"created\":1735689600,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0ba0d124f1\",\
             \"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}],\
             \"usage\":null}}{line_end}{line_end}"
        )
    };
    let mut s = chunk(
        r#"{"role":"assistant","content":"","refusal":null}"#,
        "null",
    );
    for i in 0..deltas {
        if i == deltas / 2 {
            s.push_str(&format!(": keep-alive{line_end}{line_end}"));
        }
        s.push_str(&chunk(&format!(r#"{{"content":" token{i}"}}"#), "null"));
    }
    s.push_str(&chunk("{}", r#""stop""#));
    s.push_str(&format!(
        "data: {{\"id\":\"chatcmpl-9x2kQmZbT1cVw8yJrLpN4aDf\",\"object\":\"chat.completion.chunk\",\
         \"created\":1735689600,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\
         \"usage\":{{\"prompt_tokens\":58,\"completion_tokens\":{deltas},\"total_tokens\":{}}}}}{line_end}{line_end}\
         data: [DONE]{line_end}{line_end}",
        58 + deltas
    ));
    s.into_bytes()
}

fn decode_all(stream: &[u8], chunk: usize) -> usize {
    let mut decoder = SseDecoder::new();
    let mut events = 0;
    for piece in stream.chunks(chunk) {
        events += decoder
            .push(black_box(piece))
            .expect("the stream is valid")
            .len();
    }
    events
}

fn sse_decode(c: &mut Criterion) {
    for (name, line_end) in [("lf", "\n"), ("crlf", "\r\n")] {
        let stream = openai_stream(200, line_end);
        let mut group = c.benchmark_group(format!("sse_decode_{name}"));
        group.throughput(Throughput::Bytes(stream.len() as u64));
        // 1 byte (worst case), small writes, one event-ish, a typical TCP read, all at once.
        for chunk in [1usize, 16, 300, 4096, stream.len()] {
            group.bench_with_input(BenchmarkId::from_parameter(chunk), &chunk, |b, &chunk| {
                b.iter(|| decode_all(&stream, chunk))
            });
        }
        group.finish();
    }
}

fn sse_encode(c: &mut Criterion) {
    let data = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" hello"},"finish_reason":null}]}"#;
    c.bench_function("sse_encode_data", |b| {
        b.iter(|| shared::sse::encode_data(black_box(data)))
    });
}

criterion_group!(benches, sse_decode, sse_encode);
criterion_main!(benches);
