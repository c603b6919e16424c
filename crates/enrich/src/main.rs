//! The `enrich` Lambda: conversations from the enrichment queue, enriched in bulk under the budget.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    gcx_core::lambda::serve::<enrich::App>().await
}
