//! The `process` Lambda: one record per validated event, and the enrichment requests.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    gcx_core::lambda::serve::<process::App>().await
}
