//! Relay binary; everything lives in the library so tests can run it in-process.

// mimalloc: less CPU per request than the system allocator under many threads, and it
// returns memory from finished streams instead of fragmenting per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    relay::run_from_env().await
}
