//! Relay binary; everything lives in the library so tests can run it in-process.

// As in the gateway: small allocations per request are cheaper with mimalloc.
#[global_allocator]
static ALLOCATOR: shared::allocator::Allocator = shared::allocator::Allocator;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    relay::run_from_env().await
}
