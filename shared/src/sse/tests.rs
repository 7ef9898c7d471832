use super::*;

const STREAM: &str = "\u{FEFF}: hello\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\n\
data: héllo 你好 🎉\rdata:second line\r\rid: 7\ndata:  two spaces\n\n: keep-alive\n\n\
retry: 1500\ndata: [DONE]\n\n";

fn expected() -> Vec<SseEvent> {
    vec![
        SseEvent::named("message_start", "{\"a\":1}"),
        SseEvent::data("héllo 你好 🎉\nsecond line"),
        SseEvent {
            event: None,
            data: " two spaces".into(),
            id: Some("7".into()),
        },
        SseEvent::data("[DONE]"),
    ]
}

fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(decoder.push(chunk).unwrap());
    }
    assert_eq!(decoder.finish().unwrap(), None);
    events
}

#[test]
fn whole_stream_decodes_to_expected_events() {
    assert_eq!(decode_chunks([STREAM.as_bytes()]), expected());
}

#[test]
fn every_single_split_point_gives_the_same_events() {
    let bytes = STREAM.as_bytes();
    for split in 0..=bytes.len() {
        let (a, b) = bytes.split_at(split);
        assert_eq!(decode_chunks([a, b]), expected(), "split at {split}");
    }
}

#[test]
fn every_pair_of_split_points_gives_the_same_events() {
    let bytes = STREAM.as_bytes();
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            let chunks = [&bytes[..i], &bytes[i..j], &bytes[j..]];
            assert_eq!(decode_chunks(chunks), expected(), "split at {i},{j}");
        }
    }
}

#[test]
fn byte_by_byte_feeding_gives_the_same_events() {
    assert_eq!(decode_chunks(STREAM.as_bytes().chunks(1)), expected());
    for size in [2, 3, 5, 7, 11] {
        assert_eq!(decode_chunks(STREAM.as_bytes().chunks(size)), expected());
    }
}

#[test]
fn crlf_split_between_cr_and_lf_is_one_line_ending() {
    let mut decoder = SseDecoder::new();
    assert!(decoder.push(b"data: a\r").unwrap().is_empty());
    // The LF completes the CR; only the following CRLF is the blank line.
    assert!(decoder.push(b"\n").unwrap().is_empty());
    assert_eq!(decoder.push(b"\r").unwrap(), vec![SseEvent::data("a")]);
    assert!(decoder.push(b"\ndata: b\r\n\r\n").unwrap().len() == 1);
}

#[test]
fn utf8_character_split_across_chunks_is_intact() {
    let text = "data: héllo 你好 🎉\n\n".as_bytes();
    for split in 0..=text.len() {
        let events = decode_chunks([&text[..split], &text[split..]]);
        assert_eq!(
            events,
            vec![SseEvent::data("héllo 你好 🎉")],
            "split {split}"
        );
    }
}

#[test]
fn invalid_utf8_is_replaced_lossily() {
    let events = decode_chunks([&b"data: a\xFFb\n\n"[..]]);
    assert_eq!(events[0].data, "a\u{FFFD}b");
}

#[test]
fn comments_are_skipped_by_push_and_surfaced_by_push_frames() {
    let input = b": keep-alive\n\ndata: x\n: inside\n\n";
    assert_eq!(decode_chunks([&input[..]]), vec![SseEvent::data("x")]);
    let frames = SseDecoder::new().push_frames(input).unwrap();
    assert_eq!(
        frames,
        vec![
            SseFrame::Comment("keep-alive".into()),
            SseFrame::Comment("inside".into()),
            SseFrame::Event(SseEvent::data("x")),
        ]
    );
}

#[test]
fn fields_without_colon_and_unknown_fields_follow_the_spec() {
    let events = decode_chunks([&b"data\n\nfoo: bar\ndata:x\n\nevent: only\n\n"[..]]);
    // `data` alone is an empty data line; an event without data is not dispatched.
    assert_eq!(events, vec![SseEvent::data(""), SseEvent::data("x")]);
}

#[test]
fn id_persists_and_retry_is_parsed() {
    let mut decoder = SseDecoder::new();
    let events = decoder
        .push(b"id: 1\nretry: 250\ndata: a\n\nretry: x\ndata: b\n\n")
        .unwrap();
    assert_eq!(events[0].id.as_deref(), Some("1"));
    assert_eq!(events[1].id, None);
    assert_eq!(decoder.last_event_id(), Some("1"));
    assert_eq!(decoder.retry(), Some(250));
}

#[test]
fn oversize_event_is_an_error_and_poisons_the_decoder() {
    let mut decoder = SseDecoder::with_max_event_bytes(16);
    assert!(decoder.push(b"data: 0123456789\n").is_ok());
    let err = decoder.push(b"data: 0123456789\n").unwrap_err();
    assert_eq!(err, SseError::EventTooLarge { limit: 16 });
    assert!(decoder.push(b"\n").is_err());

    // An endless line without terminator is caught too, fed in small pieces.
    let mut decoder = SseDecoder::with_max_event_bytes(1024);
    let piece = [b'a'; 100];
    let failed = (0..20).any(|_| decoder.push(&piece).is_err());
    assert!(failed);
}

#[test]
fn events_below_the_limit_keep_flowing() {
    let mut decoder = SseDecoder::with_max_event_bytes(32);
    for _ in 0..1000 {
        assert_eq!(decoder.push(b"data: small\n\n").unwrap().len(), 1);
    }
}

#[test]
fn finish_flushes_an_event_without_final_blank_line() {
    let mut decoder = SseDecoder::new();
    assert!(decoder.push(b"data: a\n\ndata: tail").unwrap().len() == 1);
    assert_eq!(decoder.finish().unwrap(), Some(SseEvent::data("tail")));
    assert_eq!(decoder.finish().unwrap(), None);

    let mut decoder = SseDecoder::new();
    decoder.push(b"event: e\ndata: x\n").unwrap();
    assert_eq!(decoder.finish().unwrap(), Some(SseEvent::named("e", "x")));
}

#[test]
fn large_stream_fed_in_tiny_pieces_is_linear_enough() {
    // A 1 MiB single event fed byte by byte would take minutes if each push rescanned.
    let mut input = b"data: ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 1 << 20));
    input.extend_from_slice(b"\n\n");
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    for byte in input.chunks(1) {
        events.extend(decoder.push(byte).unwrap());
    }
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data.len(), 1 << 20);
}

#[test]
fn encoder_output_round_trips_through_the_decoder() {
    let mut wire = Vec::new();
    wire.extend_from_slice(&encode_data("one\ntwo\r\nthree"));
    wire.extend_from_slice(KEEP_ALIVE);
    wire.extend_from_slice(&encode_event("content_block_delta", "{\"x\":1}"));
    wire.extend_from_slice(&encode_comment("multi\nline"));
    let with_id = SseEvent {
        event: Some("e".into()),
        data: " lead".into(),
        id: Some("9".into()),
    };
    wire.extend_from_slice(&with_id.to_bytes());
    wire.extend_from_slice(DONE_EVENT);
    let events = decode_chunks([&wire[..]]);
    assert_eq!(
        events,
        vec![
            SseEvent::data("one\ntwo\nthree"),
            SseEvent::named("content_block_delta", "{\"x\":1}"),
            with_id,
            SseEvent::data("[DONE]"),
        ]
    );
    assert!(events[3].is_done());
    assert_eq!(&encode_data("a")[..], b"data: a\n\n");
    assert_eq!(
        &encode_event("ping", "{}")[..],
        b"event: ping\ndata: {}\n\n"
    );
}

#[test]
fn event_name_cannot_inject_fields() {
    let bytes = encode_event("a\ndata: injected", "real");
    let events = decode_chunks([&bytes[..]]);
    assert_eq!(events, vec![SseEvent::named("a data: injected", "real")]);
}

#[test]
fn the_event_boundary_is_only_where_nothing_is_half_read() {
    let mut d = SseDecoder::new();
    assert!(!d.at_event_boundary(), "the BOM check is still open");
    d.push(b"data: a\n\n").expect("valid");
    assert!(d.at_event_boundary());
    for partial in [
        &b"data: b"[..],
        b"data: b\n",
        b"id: 7\n",
        b"event: x\n",
        b"data: b\r",
    ] {
        let mut d = SseDecoder::new();
        d.push(b"data: a\n\n").expect("valid");
        d.push(partial).expect("valid");
        assert!(!d.at_event_boundary(), "{partial:?}");
    }
}
