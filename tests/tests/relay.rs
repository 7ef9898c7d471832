//! Integration tests for the relay binary. Run with
//! `cargo test -p integration-tests --test relay`.
//! Every server involved binds on 127.0.0.0/8; nothing leaves the machine.

mod relay {
    mod lifecycle;
    mod limits;
    mod passthrough;
    mod security;
    mod streaming;
}
