//! The `save` Lambda: conditional newest-event-wins writes, enrichment requests and dead letters.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    gcx_core::lambda::serve::<save::App>().await
}
